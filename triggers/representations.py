"""Hand-built wire dicts (timestamps in the protocol's naive-UTC format)."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp as ts

from .models import Trigger, TriggerFire


def trigger_dict(trigger: Trigger) -> dict:
    return {
        "trigger_id": str(trigger.pk),
        "name": trigger.name,
        "type": trigger.type,
        "enabled": trigger.enabled,
        # The stored condition never holds the secret (write-only, 17 §2).
        "condition": trigger.condition if trigger.condition else None,
        "intent_template": trigger.intent_template,
        "deduplication": trigger.deduplication,
        "namespace": trigger.namespace,
        "fire_count": trigger.fire_count,
        "version": trigger.version,
        "created_by": trigger.created_by,
        "created_at": ts(trigger.created_at),
        "updated_at": ts(trigger.updated_at),
        "last_fired_at": ts(trigger.last_fired_at),
        "next_fire_at": ts(trigger.next_fire_at),
    }


def fire_dict(fire: TriggerFire) -> dict:
    return {
        "fired_at": ts(fire.fired_at),
        "source": fire.source,
        "outcome": fire.outcome,
        "intent_id": str(fire.intent_id) if fire.intent_id else None,
        "fire_count": fire.fire_count,
    }
