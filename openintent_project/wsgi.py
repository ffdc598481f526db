"""The WSGI application (``asgi.py`` serves the same one under daphne). Requests to the API
and everything else run through two Django handlers that differ only in their middleware;
see ``handlers.SplitWSGIApplication``."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_project.settings.dev")
django.setup(set_prefix=False)

from openintent_project.handlers import SplitWSGIApplication  # noqa: E402

application = SplitWSGIApplication()
