"""Triggers built through the service, so conditions are validated and scheduled as in use."""

from __future__ import annotations

from openintent_project.api.principal import Principal

from triggers import services

OWNER = Principal(id="agent-owner", api_key="dev-user-key")


def make_trigger(*, type="schedule", name="nightly", condition=None, intent_template=None, **kwargs):
    if condition is None:
        condition = {
            "schedule": {"cron": "0 9 * * *"},
            "event": {"event": "status_changed"},
            "webhook": {"path": "/hooks/test"},
        }[type]
    if intent_template is None:
        intent_template = {"type": "report", "title": "Report for {{ trigger.name }}"}
    return services.trigger_create(
        principal=kwargs.pop("principal", OWNER), name=name, type=type, condition=condition,
        intent_template=intent_template, **kwargs,
    )
