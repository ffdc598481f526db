"""Channels routes. Streams (RFC-0006) add their consumers here."""

http_stream_routes: list = []
websocket_routes: list = []
