"""``agent_event`` is sent after commit for every agent lifecycle event (16 §3), so the agents
SSE stream (built by the streams work) can push it: kwargs ``agent_id``, ``event_type``,
``payload``, ``actor``."""

from django.dispatch import Signal

agent_event = Signal()
