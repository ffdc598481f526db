"""Input shapes of the trigger routes (rules that need the database live in services), and
the documented output shapes for the OpenAPI document."""

from __future__ import annotations

from rest_framework import serializers

from openintent_project.api.fields import AnyJSONField, ObjectField, StrictBooleanField, StrictCharField
from openintent_project.api.serializers import ProtocolSerializer

from ..models import Deduplication, FireOutcome, FireSource

# The SDK passes extra keyword arguments as top-level keys; the guide uses these names (17 §3).
CONDITION_SHORTHANDS = {"cron": "cron", "timezone": "timezone", "at": "at", "event_type": "event",
                        "webhook_secret": "secret", "path": "path"}


def fold_shorthands(body: dict) -> tuple[dict, dict]:
    """Split ``body`` into (body with the long names, condition keys given as shorthands)."""
    body = dict(body)
    folded: dict = {}
    for short, key in CONDITION_SHORTHANDS.items():
        if short in body:
            folded[key] = body.pop(short)
    if "dedup" in body and "deduplication" not in body:
        body["deduplication"] = body.pop("dedup")
    for alias in ("template", "payload_transform"):
        if alias in body and "intent_template" not in body:
            body["intent_template"] = body.pop(alias)
    return body, folded


class TriggerCreateInputSerializer(ProtocolSerializer):
    name = StrictCharField(max_length=255)
    # Checked in the service (a ChoiceField here would collide with other "type" enums in
    # the OpenAPI document).
    type = StrictCharField(max_length=16)
    enabled = StrictBooleanField(required=False, default=True)
    condition = ObjectField(required=False, allow_null=True, default=None)
    intent_template = ObjectField(required=False, allow_null=True, default=None)
    deduplication = serializers.ChoiceField(choices=Deduplication.values, required=False, default=Deduplication.ALLOW)
    namespace = StrictCharField(required=False, allow_null=True, max_length=255, default=None)


class TriggerUpdateInputSerializer(ProtocolSerializer):
    enabled = StrictBooleanField(required=False)
    condition = ObjectField(required=False, allow_null=True)
    intent_template = ObjectField(required=False, allow_null=True)
    deduplication = serializers.ChoiceField(choices=Deduplication.values, required=False)


class TriggerFireInputSerializer(ProtocolSerializer):
    payload = AnyJSONField(required=False, default=None)


class TriggerListQuerySerializer(ProtocolSerializer):
    namespace = serializers.CharField(required=False)
    type = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)


class TriggerHistoryQuerySerializer(ProtocolSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)


# --- outputs (documentation) ----------------------------------------------------------


class TriggerSerializer(ProtocolSerializer):
    trigger_id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField(help_text="schedule | event | webhook")
    enabled = serializers.BooleanField()
    condition = serializers.JSONField(allow_null=True)
    intent_template = serializers.JSONField(allow_null=True)
    deduplication = serializers.ChoiceField(choices=Deduplication.values)
    namespace = serializers.CharField(allow_null=True)
    fire_count = serializers.IntegerField()
    version = serializers.IntegerField()
    created_by = serializers.CharField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    last_fired_at = serializers.CharField(allow_null=True)
    next_fire_at = serializers.CharField(allow_null=True)


class TriggerFireResultSerializer(ProtocolSerializer):
    status = serializers.ChoiceField(choices=["fired", "skipped", "queued", "blocked", "cascade_limit"])
    fire_count = serializers.IntegerField()
    trigger_id = serializers.UUIDField()
    deduplicated = serializers.BooleanField()
    intent_id = serializers.UUIDField(required=False)
    intent = serializers.JSONField(required=False)
    existing_intent_id = serializers.UUIDField(required=False)


class TriggerDeletedSerializer(ProtocolSerializer):
    status = serializers.CharField()
    trigger_id = serializers.UUIDField()


class TriggerFireHistorySerializer(ProtocolSerializer):
    fired_at = serializers.CharField()
    source = serializers.ChoiceField(choices=FireSource.values)
    outcome = serializers.ChoiceField(choices=FireOutcome.values)
    intent_id = serializers.UUIDField(allow_null=True)
    fire_count = serializers.IntegerField()
