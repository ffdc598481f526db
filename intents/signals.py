"""Hooks around the event log.

``event_recorded`` fires inside the writing transaction (for rows that must commit with the
event, such as a webhook outbox); ``event_committed`` fires after commit (for wake-ups:
streams, event triggers). Receivers get ``event=<Event>``."""

from django.dispatch import Signal

event_recorded = Signal()
event_committed = Signal()
