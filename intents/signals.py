"""Hooks around the event log.

``event_recorded`` fires inside the writing transaction (for rows that must commit with the
event, such as a webhook outbox); ``event_committed`` fires after commit (for wake-ups:
streams, event triggers). Receivers get ``event=<Event>``."""

from django.dispatch import Signal

# Every write sends both: the receivers are looked up once per sender and kept (Django's
# model signals do the same), not gathered anew on each send.
event_recorded = Signal(use_caching=True)
event_committed = Signal(use_caching=True)
