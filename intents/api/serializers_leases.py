"""Inputs (shape only) and documented outputs of leases (03), costs (09), retry policies and
failures (10)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from openintent_project.api.schema import MessageSerializer  # noqa: F401

from openintent_project.api.fields import (
    AnyJSONField,
    ObjectField,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
)
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.timestamps import parse_timestamp

from ..models.leases import DEFAULT_LEASE_SECONDS, SCOPE_MAX_LENGTH
from ..models.retries import RetryStrategy

# Bounds keep datetime arithmetic and 64-bit columns from overflowing (a 500) while accepting
# every value a client could mean: about ±31 years of lease duration.
MAX_DURATION_SECONDS = 10**9
INT32 = 2**31 - 1
INT64 = 2**63 - 1
MAX_AMOUNT = 1e18


# --- leases ------------------------------------------------------------------------------

class LeaseAcquireInputSerializer(ProtocolSerializer):
    scope = StrictCharField(max_length=SCOPE_MAX_LENGTH, allow_blank=True)
    # REF accepts any int (zero or negative: a lease born expired); a fraction is a 400.
    duration_seconds = StrictIntegerField(
        required=False, default=DEFAULT_LEASE_SECONDS, min_value=-MAX_DURATION_SECONDS, max_value=MAX_DURATION_SECONDS
    )
    agent_id = AnyJSONField(help_text="Ignored: the owner is always the principal (03).")


class LeaseRenewInputSerializer(ProtocolSerializer):
    duration_seconds = StrictIntegerField(required=False, default=DEFAULT_LEASE_SECONDS, min_value=-MAX_DURATION_SECONDS, max_value=MAX_DURATION_SECONDS)


class LeaseListQuerySerializer(ProtocolSerializer):
    status = serializers.ChoiceField(choices=["active", "released", "expired"], required=False)


class LeaseSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    scope = serializers.CharField()
    acquired_at = serializers.CharField(help_text="Naive UTC ISO 8601")
    expires_at = serializers.CharField(help_text="Naive UTC ISO 8601")
    released_at = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["active", "released", "expired"])
    created_at = serializers.CharField(help_text="Same as acquired_at (the official client reads it)")


@extend_schema_serializer(many=False)  # a list action answering one wrapper object
class LeaseListSerializer(ProtocolSerializer):
    leases = LeaseSerializer(many=True)


class LeaseConflictSerializer(ProtocolSerializer):
    detail = serializers.CharField()
    message = serializers.CharField()
    existing_lease = LeaseSerializer()


# --- costs ---------------------------------------------------------------------------------

class CostRecordInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    cost_type = StrictCharField(max_length=100)
    # Bounded so that sums (max_cost, the summary) stay finite on every database.
    amount = StrictFloatField(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)
    unit = StrictCharField(max_length=100)
    provider = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    cost_metadata = ObjectField(required=False, allow_null=True)
    metadata = ObjectField(required=False, allow_null=True)


class CostListQuerySerializer(ProtocolSerializer):
    summary = serializers.BooleanField(required=False, default=False)


class CostSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    cost_type = serializers.CharField()
    amount = serializers.FloatField()
    unit = serializers.CharField()
    provider = serializers.CharField(allow_null=True)
    cost_metadata = serializers.DictField()
    metadata = serializers.DictField()
    recorded_at = serializers.CharField()
    recordedAt = serializers.CharField()


class TokenUsageSerializer(ProtocolSerializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class RecordedTokensSerializer(TokenUsageSerializer):
    records = serializers.IntegerField()
    by_model = serializers.DictField(child=serializers.DictField())


class LoggedTokensSerializer(TokenUsageSerializer):
    requests = serializers.IntegerField()
    by_model = serializers.DictField(child=serializers.DictField())


class LlmUsageSerializer(ProtocolSerializer):
    recorded = RecordedTokensSerializer()
    logged = LoggedTokensSerializer()


class CostSummarySerializer(ProtocolSerializer):
    total = serializers.FloatField()
    count = serializers.IntegerField()
    by_type = serializers.DictField(child=serializers.FloatField())
    by_agent = serializers.DictField(child=serializers.FloatField())
    by_provider = serializers.DictField(child=serializers.FloatField())
    by_unit = serializers.DictField(child=serializers.FloatField())
    llm = LlmUsageSerializer()


class CostListWithSummarySerializer(ProtocolSerializer):
    costs = CostSerializer(many=True)
    summary = CostSummarySerializer()


# --- retry policies and failures --------------------------------------------------------------

class RetryPolicyInputSerializer(ProtocolSerializer):
    strategy = serializers.ChoiceField(choices=RetryStrategy.values)
    max_retries = StrictIntegerField(required=False, min_value=-INT32, max_value=INT32)
    base_delay_ms = StrictIntegerField(required=False, min_value=-INT64, max_value=INT64)
    max_delay_ms = StrictIntegerField(required=False, min_value=-INT64, max_value=INT64)
    jitter = serializers.BooleanField(required=False)
    fallback_agent_id = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    failure_threshold = StrictIntegerField(required=False, min_value=-INT32, max_value=INT32)


class RetryPolicySerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    strategy = serializers.ChoiceField(choices=RetryStrategy.values)
    max_retries = serializers.IntegerField()
    base_delay_ms = serializers.IntegerField()
    max_delay_ms = serializers.IntegerField()
    jitter = serializers.BooleanField()
    fallback_agent_id = serializers.CharField(allow_null=True)
    failure_threshold = serializers.IntegerField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    createdAt = serializers.CharField()
    updatedAt = serializers.CharField()


class FailureInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    error_type = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    error_code = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    error_message = StrictCharField(required=False, allow_null=True, allow_blank=True)
    attempt_number = StrictIntegerField(required=False, allow_null=True, min_value=-INT32, max_value=INT32)
    retry_scheduled_at = StrictCharField(required=False, allow_null=True)
    metadata = ObjectField(required=False, allow_null=True)
    recoverable = serializers.JSONField(required=False, help_text="Async client field; kept in metadata.")

    def validate_retry_scheduled_at(self, value):
        if value is None:
            return None
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise serializers.ValidationError("Input should be a valid datetime") from exc


class FailureListQuerySerializer(ProtocolSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=10000, required=False)


class FailureSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    agent_id = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_null=True)
    error_code = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    attempt_number = serializers.IntegerField()
    retry_scheduled_at = serializers.CharField(allow_null=True)
    resolved_at = serializers.CharField(allow_null=True)
    metadata = serializers.DictField()
    occurred_at = serializers.CharField()
    created_at = serializers.CharField()
    createdAt = serializers.CharField()
    retryScheduledAt = serializers.CharField(allow_null=True)
    resolvedAt = serializers.CharField(allow_null=True)
