"""Trigger kinds: one module per kind on ``base.TriggerKind``; the registry maps type → class."""

from __future__ import annotations

from functools import cache

from django.utils.module_loading import import_string

from .base import TriggerKind

KINDS: dict[str, str] = {
    "schedule": "triggers.kinds.schedule.ScheduleKind",
    "event": "triggers.kinds.event.EventKind",
    "webhook": "triggers.kinds.webhook.WebhookKind",
}


@cache
def kind_for(trigger_type: str) -> TriggerKind:
    return import_string(KINDS[trigger_type])()
