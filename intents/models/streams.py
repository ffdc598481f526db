"""Stream frames (RFC-0006): the frame data of a stored event, written in the event's own
transaction, so a replayed frame is byte-for-byte the live one (06, "Store the frame data
with the event"). Plain events need no row: their frame is the event itself."""

from __future__ import annotations

from django.db import models

from .core import Event


class StreamFrame(models.Model):
    """One row per stored event whose frame holds more than the event row (``frames.is_plain``
    says which do not; their frames are rendered from the event). ``name`` is the REF frame name on the intent stream, or
    empty when the event is not pushed there (e.g. ``governance.violation``). ``agent_id``
    routes assignment frames to that agent's stream."""

    event = models.OneToOneField(Event, primary_key=True, on_delete=models.CASCADE, related_name="stream_frame")
    name = models.CharField(max_length=100, blank=True, default="")
    data = models.JSONField(default=dict)
    agent_id = models.CharField(max_length=200, null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.name or '(not streamed)'} for event {self.event_id}"
