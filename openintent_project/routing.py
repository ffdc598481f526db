"""Channels routes: the streams of RFC-0006 (docs/streams.md)."""

from django.urls import re_path

from intents.streams.consumers import SDKSSEConsumer, SSEConsumer, StreamWebSocketConsumer

_KIND = r"(?P<kind>intents|portfolios|agents)"
_TARGET = r"(?P<target>[^/]+)"

http_stream_routes: list = [
    # REF paths, REF (lowercase) frame names.
    re_path(rf"^api/v1/subscribe/{_KIND}/{_TARGET}$", SSEConsumer.as_asgi()),
    # The official client's paths, with the SDK runtime's uppercase names (README §0.3).
    re_path(rf"^api/v1/{_KIND}/{_TARGET}/subscribe$", SDKSSEConsumer.as_asgi()),
]
websocket_routes: list = [
    re_path(rf"^ws/v1/{_KIND}/{_TARGET}$", StreamWebSocketConsumer.as_asgi()),
]


def is_stream_path(path: str) -> bool:
    """Whether an HTTP request for ``path`` goes to a stream consumer (as URLRouter routes
    it: the leading slash off)."""
    relative = path[1:] if path.startswith("/") else path
    return any(route.pattern.regex.search(relative) for route in http_stream_routes)
