"""Input validation and documented output shapes for the governance routes."""

from __future__ import annotations

from drf_spectacular.drainage import set_override
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from openintent_project.api.fields import AnyJSONField, ObjectField, StrictCharField, StrictFloatField, StrictIntegerField, TimestampField
from openintent_project.api.serializers import ProtocolSerializer

from ..models import (
    CoordinatorScope,
    CoordinatorType,
    DecisionType,
    DefaultPolicy,
    PermissionLevel,
    PrincipalType,
)


class EnumField(serializers.ChoiceField):
    default_error_messages = {"invalid_choice": "Input should be one of: {choices}"}

    def __init__(self, choices, *, document_enum: bool = True, **kwargs):
        super().__init__(choices=choices, **kwargs)
        if not document_enum:
            # The same choice set under a second field name: described, not a named enum twice.
            set_override(self, "field", {"type": "string", "description": " | ".join(choices)})

    def to_internal_value(self, data):
        if data is None and self.allow_null:
            return None
        if not isinstance(data, str) or data not in self.choices:
            self.fail("invalid_choice", choices=", ".join(self.choices))
        return data



class ObjectListField(serializers.ListField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", ObjectField())
        super().__init__(**kwargs)


# --- RFC-0011 --------------------------------------------------------------------------------

class AclEntryInputSerializer(ProtocolSerializer):
    principal_id = StrictCharField(max_length=200)
    principal_type = EnumField(PrincipalType.values, required=False, default="agent")
    permission = EnumField(PermissionLevel.values, required=False, default="read")
    granted_by = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True)
    expires_at = TimestampField(required=False, allow_null=True, default=None)


class AclSetInputSerializer(ProtocolSerializer):
    default_policy = EnumField(DefaultPolicy.values, required=False, default="open")
    entries = serializers.ListField(child=AclEntryInputSerializer(), required=False, default=list)


class AccessRequestInputSerializer(ProtocolSerializer):
    principal_id = StrictCharField(max_length=200)
    principal_type = EnumField(PrincipalType.values, required=False, default="agent")
    requested_permission = EnumField(PermissionLevel.values, document_enum=False, required=False, default="write")
    reason = StrictCharField(required=False, allow_blank=True, allow_null=True, default="")
    capabilities = serializers.ListField(child=StrictCharField(allow_blank=True), required=False, default=list)


class AccessApproveInputSerializer(ProtocolSerializer):
    decided_by = StrictCharField(max_length=200)
    permission = EnumField(PermissionLevel.values, required=False, allow_null=True, default=None)
    expires_at = TimestampField(required=False, allow_null=True, default=None)
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True)


class AccessDenyInputSerializer(ProtocolSerializer):
    decided_by = StrictCharField(max_length=200)
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True)


class AclEntrySerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    principal_id = serializers.CharField()
    principal_type = serializers.CharField()
    permission = serializers.CharField()
    granted_by = serializers.CharField()
    granted_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


class AclSerializer(ProtocolSerializer):
    intent_id = serializers.UUIDField()
    default_policy = serializers.CharField()
    entries = AclEntrySerializer(many=True)


class AccessRequestSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    principal_id = serializers.CharField()
    principal_type = serializers.CharField()
    requested_permission = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.CharField(allow_null=True)
    decision_reason = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()


class AccessRequestListSerializer(ProtocolSerializer):
    access_requests = AccessRequestSerializer(many=True)


# --- RFC-0003 arbitration and decisions (04) ---------------------------------------------------

class ArbitrateInputSerializer(ProtocolSerializer):
    reason = StrictCharField()
    requested_by = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    context = ObjectField(required=False, default=dict)
    options = ObjectListField(required=False, allow_null=True, default=None)


class DecisionInputSerializer(ProtocolSerializer):
    decision_type = StrictCharField(max_length=200)
    outcome = serializers.JSONField()
    decided_by = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    rationale = StrictCharField(required=False, allow_null=True, allow_blank=True)
    reasoning = StrictCharField(required=False, allow_null=True, allow_blank=True)
    arbitration_id = StrictCharField(required=False, allow_null=True)
    evidence = AnyJSONField()
    decision = AnyJSONField()

    def validate_outcome(self, value):
        if value is None:
            raise serializers.ValidationError("Input should not be null")
        return value


class LimitQuerySerializer(ProtocolSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)


class ArbitrationSerializer(ProtocolSerializer):
    message = serializers.CharField(required=False)
    status = serializers.CharField()
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    requester_id = serializers.CharField()
    requested_by = serializers.CharField()
    reason = serializers.CharField()
    context = serializers.JSONField()
    created_at = serializers.CharField()


class DecisionSerializer(ProtocolSerializer):
    message = serializers.CharField(required=False)
    decision_id = serializers.UUIDField(required=False)
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    decision_type = serializers.CharField()
    outcome = serializers.JSONField()
    decided_by = serializers.CharField(required=False)
    decision_maker_id = serializers.CharField()
    rationale = serializers.CharField()
    reasoning = serializers.CharField()
    created_at = serializers.CharField()
    source = serializers.CharField(required=False)


class DecisionListSerializer(ProtocolSerializer):
    decisions = DecisionSerializer(many=True)


# --- RFC-0013 --------------------------------------------------------------------------------

class DecisionRecordInputSerializer(ProtocolSerializer):
    coordinator_id = StrictCharField(max_length=200)
    intent_id = StrictCharField()
    decision_type = EnumField(DecisionType.values)
    summary = StrictCharField(allow_blank=True)
    rationale = StrictCharField(allow_blank=True)
    alternatives_considered = ObjectListField(required=False, default=list)
    confidence = StrictFloatField(required=False, allow_null=True, default=None)


class DecisionRecordSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    coordinator_id = serializers.CharField()
    intent_id = serializers.UUIDField()
    decision_type = serializers.CharField()
    summary = serializers.CharField()
    rationale = serializers.CharField()
    alternatives_considered = serializers.ListField(child=serializers.JSONField())
    confidence = serializers.FloatField(allow_null=True)
    timestamp = serializers.CharField()


class EscalationInputSerializer(ProtocolSerializer):
    reason = StrictCharField()
    priority = StrictCharField(required=False, default="medium", max_length=32)
    urgency = StrictCharField(required=False, default="medium", max_length=32)
    context = ObjectField(required=False, default=dict)
    escalated_by = StrictCharField(required=False, allow_null=True, allow_blank=True, default="", max_length=200)


class EscalationResolveInputSerializer(ProtocolSerializer):
    resolution = StrictCharField()
    notes = StrictCharField(required=False, allow_null=True, allow_blank=True)
    resolved_by = StrictCharField(required=False, allow_null=True, allow_blank=True, default="", max_length=200)


class EscalationQuerySerializer(ProtocolSerializer):
    intent_id = serializers.CharField(required=False)
    status = serializers.CharField(required=False)


class EscalationSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    escalated_by = serializers.CharField()
    reason = serializers.CharField()
    priority = serializers.CharField()
    urgency = serializers.CharField()
    context = serializers.JSONField()
    status = serializers.CharField()
    created_at = serializers.CharField()
    resolved_at = serializers.CharField(required=False)
    resolved_by = serializers.CharField(required=False)
    resolution = serializers.CharField(required=False)
    resolution_notes = serializers.CharField(required=False)


@extend_schema_serializer(many=False)  # a list action answering one wrapper object
class EscalationListSerializer(ProtocolSerializer):
    escalations = EscalationSerializer(many=True)


class ApprovalInputSerializer(ProtocolSerializer):
    action = StrictCharField(max_length=500)
    reason = StrictCharField(required=False, allow_blank=True, allow_null=True, default="")
    context = ObjectField(required=False, default=dict)
    requested_by = StrictCharField(required=False, allow_null=True, allow_blank=True, default="", max_length=200)


class ApprovalDecideInputSerializer(ProtocolSerializer):
    notes = StrictCharField(required=False, allow_null=True, allow_blank=True)


class ApprovalSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    requested_by = serializers.CharField()
    action = serializers.CharField()
    reason = serializers.CharField()
    context = serializers.JSONField()
    status = serializers.CharField()
    created_at = serializers.CharField()
    decided_at = serializers.CharField(required=False)
    decided_by = serializers.CharField(required=False)
    decision_notes = serializers.CharField(required=False)


class GovernancePolicyResponseSerializer(ProtocolSerializer):
    intent_id = serializers.UUIDField()
    governance_policy = serializers.JSONField()
    effective_policy = serializers.JSONField()


class CoordinatorLeaseInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(max_length=200)
    intent_id = StrictCharField(required=False, allow_null=True)
    portfolio_id = StrictCharField(required=False, allow_null=True)
    role = StrictCharField(required=False, default="coordinator", max_length=100)
    supervisor_id = StrictCharField(required=False, allow_null=True, max_length=200)
    coordinator_type = EnumField(CoordinatorType.values, required=False, default="llm")
    scope = EnumField(CoordinatorScope.values, required=False, default="intent")
    guardrails = ObjectField(required=False, allow_null=True, default=None)
    heartbeat_interval_seconds = StrictIntegerField(required=False, default=60, min_value=1, max_value=86400)
    expires_at = TimestampField(required=False, allow_null=True, default=None)
    metadata = ObjectField(required=False, default=dict)


class CoordinatorLeaseSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField(allow_null=True)
    portfolio_id = serializers.UUIDField(allow_null=True)
    agent_id = serializers.CharField()
    role = serializers.CharField()
    supervisor_id = serializers.CharField(allow_null=True)
    coordinator_type = serializers.CharField()
    scope = serializers.CharField()
    status = serializers.CharField()
    guardrails = serializers.JSONField(allow_null=True)
    heartbeat_interval_seconds = serializers.IntegerField()
    last_heartbeat = serializers.CharField(allow_null=True)
    granted_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    lease_metadata = serializers.JSONField()
    metadata = serializers.JSONField()


class HeartbeatSerializer(ProtocolSerializer):
    status = serializers.CharField()
    next_heartbeat_at = serializers.CharField()
