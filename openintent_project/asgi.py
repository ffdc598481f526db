"""ASGI entry point: plain HTTP goes to Django; the streaming routes (SSE, WebSocket) are
served by Channels consumers."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_project.settings.dev")

import django  # noqa: E402

django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from openintent_project.handlers import SplitWSGIApplication, ThreadedWSGIApplication, is_api_read  # noqa: E402

django_asgi_app = ThreadedWSGIApplication(
    SplitWSGIApplication(),
    threads=settings.OPENINTENT_REQUEST_THREADS,
    reads_here=is_api_read if settings.OPENINTENT_READS_ON_LOOP else None,
)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from openintent_project.routing import http_stream_routes, websocket_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter([*http_stream_routes, re_path(r"", django_asgi_app)]),
        "websocket": URLRouter(websocket_routes),
    }
)
