"""Channels consumers for streams: SSE (both route families) and WebSocket."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.consumer import AsyncConsumer
from .reads import db_read
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from openintent_project.api.authentication import INVALID_KEY, principal_for
from openintent_project.errors import Forbidden

from . import reads, wakeups
from .frames import SDK_NAMES, sse_bytes
from .session import INTENT, StreamSession


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _query(scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return {k: v[-1] for k, v in parsed.items()}


def _authorize(api_key: str, agent_header: str | None, kind: str, target: str):
    """The principal, or raise ``Forbidden`` when the intent has an ACL that denies read
    (11 §2: subscribing to an intent stream needs read). Unknown ids give an idle stream."""
    principal = principal_for(api_key, agent_header)
    if principal is None or kind != INTENT:
        return principal
    from intents import access
    from intents.access import Permission
    from intents.models import Intent

    pk = reads.as_uuid(target)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is not None:
        access.require_permission(principal, intent, Permission.READ)
    return principal


def _wake(session: StreamSession, message: dict) -> None:
    """A ``stream.wake`` from the channel layer (Redis, or the in-memory layer outside a web
    process): the same note the hub routes, the frame included when it carries one."""
    note = wakeups.Note.from_message(message)
    session.wake(note.event_id, note.sequence, frame=note.frame)


class SSEConsumer(AsyncConsumer):
    """``GET /api/v1/subscribe/{kind}/{id}`` (REF names) and ``GET /api/v1/{kind}/{id}/subscribe``
    (``sdk_names=True``: the SDK runtime's uppercase names, README §0.3)."""

    sdk_names = False

    async def http_request(self, message):
        if message.get("more_body"):
            return  # a GET has no body worth reading; wait for the last chunk
        if getattr(self, "session", None) is not None:
            return
        self.session = None
        kwargs = self.scope["url_route"]["kwargs"]
        kind, target = kwargs["kind"], kwargs["target"]
        headers = _headers(self.scope)
        cors = self._cors(headers)
        if self.scope["method"] not in ("GET", "HEAD"):
            return await self._json(405, {"detail": "Method Not Allowed"}, cors)
        try:
            principal = await db_read(_authorize)(
                headers.get("x-api-key", ""), headers.get("x-agent-id"), kind, target
            )
        except Forbidden as denied:
            return await self._json(403, denied.body(), cors)
        if principal is None:
            return await self._json(401, {"detail": INVALID_KEY}, cors)
        last_event_id = headers.get("last-event-id") or _query(self.scope).get("last_event_id")
        self.session = StreamSession(
            kind=kind, target=target, channel_layer=self.channel_layer, channel_name=self.channel_name,
            emit=self._emit, keepalive=self._ping,
        )
        await self.session.open(last_event_id)
        await self.send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no"),
                *cors,
                *self._process_header(),
            ],
        })
        # Flush the headers now: daphne holds them until the first body chunk.
        await self._write(f"retry: {settings.STREAMS_RETRY_MS}\n: connected\n\n".encode())
        self.session.start()

    def _process_header(self) -> list[tuple[bytes, bytes]]:
        # Off by default; tests turn it on to tell which web process holds a stream.
        if settings.STREAMS_EXPOSE_PROCESS:
            import os

            return [(b"x-stream-process", str(os.getpid()).encode())]
        return []

    def _cors(self, headers) -> list[tuple[bytes, bytes]]:
        origin = headers.get("origin")
        if not origin:
            return []
        return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"access-control-allow-credentials", b"true"), (b"vary", b"Origin")]

    async def _json(self, status: int, body: dict, cors) -> None:
        await self.send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *cors]})
        await self.send({"type": "http.response.body", "body": json.dumps(body).encode(), "more_body": False})
        raise StopConsumer()

    async def _write(self, chunk: bytes) -> None:
        await self.send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _emit(self, frames) -> None:
        # Several frames for this stream go out in one body chunk (one socket write).
        if self.sdk_names:
            frames = [(SDK_NAMES.get(name, name), encoded, frame_id) for name, encoded, frame_id in frames]
        await self._write(b"".join(sse_bytes(name, encoded, frame_id) for name, encoded, frame_id in frames))

    async def _ping(self) -> None:
        await self._write(b": ping\n\n")

    # --- channel-layer messages ------------------------------------------------------------

    async def stream_wake(self, message):
        if self.session is not None:
            _wake(self.session, message)

    async def stream_live(self, message):
        """A frame that is never stored (portfolio_created, intent_added, …): live only."""
        if self.session is not None:
            if message.get("membership"):
                self.session.wake(membership=True)
            await self._emit([(message["name"], json.dumps(message["data"]), None)])

    async def http_disconnect(self, message):
        session = getattr(self, "session", None)
        if session is not None:
            await session.close()
        raise StopConsumer()


class SDKSSEConsumer(SSEConsumer):
    sdk_names = True


class StreamWebSocketConsumer(AsyncWebsocketConsumer):
    """``ws://…/ws/v1/{intents|portfolios|agents}/{id}`` for browser dashboards. The API key
    comes from ``X-API-Key`` or ``?api_key=`` (browsers cannot set headers on a WebSocket),
    the agent id from ``X-Agent-ID`` or ``?agent_id=``, the resume point from
    ``?last_event_id=``. Each message is one JSON text frame ``{"event", "id", "data"}``
    (``id`` null for live-only frames, ``event`` "ping" for keepalives)."""

    session = None

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        kind, target = kwargs["kind"], kwargs["target"]
        headers, query = _headers(self.scope), _query(self.scope)
        api_key = headers.get("x-api-key") or query.get("api_key", "")
        agent = headers.get("x-agent-id") or query.get("agent_id")
        try:
            principal = await db_read(_authorize)(api_key, agent, kind, target)
        except Forbidden:
            principal = None
        if principal is None:
            await self.close(code=4401)
            return
        self.session = StreamSession(
            kind=kind, target=target, channel_layer=self.channel_layer, channel_name=self.channel_name,
            emit=self._emit, keepalive=self._ping,
        )
        await self.session.open(query.get("last_event_id"))
        await self.accept()
        self.session.start()

    async def _emit(self, frames):
        # ``encoded`` is already JSON text: splice it in rather than decode and re-encode.
        for name, encoded, frame_id in frames:
            await self.send(text_data=f'{{"event": {json.dumps(name)}, "id": {json.dumps(frame_id)}, "data": {encoded}}}')

    async def _ping(self):
        await self.send(text_data='{"event": "ping", "id": null, "data": {}}')

    async def stream_wake(self, message):
        if self.session is not None:
            _wake(self.session, message)

    async def stream_live(self, message):
        if self.session is not None:
            if message.get("membership"):
                self.session.wake(membership=True)
            await self._emit([(message["name"], json.dumps(message["data"]), None)])

    async def disconnect(self, code):
        if self.session is not None:
            await self.session.close()
