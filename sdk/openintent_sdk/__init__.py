"""A requests-based client for OpenIntent servers. Imports no Django."""

__version__ = "0.1.0"
