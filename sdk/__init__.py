"""Marks sdk/ as a package for the test runner only, so sdk/tests modules get unique names
(``sdk.tests.*``) and never shadow the root ``conftest`` module. Not part of the installed SDK."""
