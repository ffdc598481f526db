"""Input shapes of the agent (16) and memory (15) routes; value rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from openintent_project.api.fields import (
    ObjectField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StringListField,
    TimestampField,
)
from openintent_project.api.serializers import ProtocolSerializer



class AgentRegisterInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(max_length=200)
    name = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=500, default=None)
    role_id = StrictCharField(required=False, allow_null=True, max_length=200, default=None)
    capabilities = StringListField(required=False, allow_null=True, default=list)
    capacity = ObjectField(required=False, allow_null=True, default=None)
    endpoint = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=2000, default=None)
    heartbeat_config = ObjectField(required=False, allow_null=True, default=None)
    metadata = ObjectField(required=False, allow_null=True, default=dict)
    drain_timeout_seconds = StrictIntegerField(required=False, allow_null=True, min_value=1, default=None)


class AgentListQuerySerializer(ProtocolSerializer):
    status = serializers.CharField(required=False, help_text="One status or a comma list.")
    role_id = serializers.CharField(required=False)
    capabilities = serializers.CharField(required=False, help_text="Comma list; any-of.")
    min_available_capacity = serializers.IntegerField(required=False, min_value=0)


class HeartbeatInputSerializer(ProtocolSerializer):
    status = serializers.ChoiceField(choices=["active", "draining"], required=False, default="active")
    current_load = StrictIntegerField(required=False, min_value=0, default=0)
    tasks_in_progress = StringListField(required=False, allow_null=True, default=list)
    client_timestamp = TimestampField(required=False, allow_null=True, default=None)


class AgentStatusInputSerializer(ProtocolSerializer):
    status = StrictCharField()
    drain_timeout_seconds = StrictIntegerField(required=False, allow_null=True, min_value=1, default=None)
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None)


class MemoryCreateInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(max_length=200)
    namespace = StrictCharField(max_length=500)
    key = StrictCharField(max_length=500)
    value = ObjectField()
    memory_type = StrictCharField(required=False, default="working")
    scope = ObjectField(required=False, allow_null=True, default=None)
    tags = StringListField(required=False, allow_null=True, default=list)
    ttl = StrictCharField(required=False, allow_null=True, default=None)
    pinned = StrictBooleanField(required=False, default=False)
    priority = StrictCharField(required=False, default="normal")
    sensitivity = StrictCharField(required=False, allow_null=True, default=None)
    expires_at = TimestampField(required=False, allow_null=True, default=None, help_text="Overrides ttl (RFC-0015).")


class MemoryUpdateInputSerializer(ProtocolSerializer):
    value = ObjectField(required=False, allow_null=True)
    tags = StringListField(required=False, allow_null=True)
    pinned = StrictBooleanField(required=False, allow_null=True)
    priority = StrictCharField(required=False, allow_null=True)
    ttl = StrictCharField(required=False, allow_null=True)
    expires_at = TimestampField(required=False, allow_null=True, help_text="Overrides ttl (RFC-0015).")


class CommaListField(serializers.CharField):
    def to_internal_value(self, data):
        return [part.strip() for part in super().to_internal_value(data).split(",") if part.strip()]


class MemoryRecallQuerySerializer(ProtocolSerializer):
    namespace = serializers.CharField(required=False, help_text="Exact; a trailing * is a prefix.")
    memory_type = serializers.ChoiceField(choices=["working", "episodic", "semantic"], required=False)
    tags = CommaListField(required=False, help_text="Comma list; entries must carry all.")
    tags_any = CommaListField(required=False, help_text="Comma list; entries must carry one.")
    key = serializers.CharField(required=False)
    task_id = serializers.CharField(required=False, help_text="Also accepted as scope.task_id.")
    intent_id = serializers.CharField(required=False, help_text="Also accepted as scope.intent_id.")
    pinned = serializers.BooleanField(required=False, allow_null=True, default=None)
    updated_after = TimestampField(required=False)
    updated_before = TimestampField(required=False)
    q = serializers.CharField(required=False, help_text="Text search in key, namespace and value.")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)
