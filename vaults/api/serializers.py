"""Input shapes (14 §2) and documented output shapes for RFC-0014 routes."""

from __future__ import annotations

from rest_framework import serializers

from openintent_project.api.fields import (
    AnyJSONField, ObjectField, StrictBooleanField, StrictCharField, StrictIntegerField, StringListField,
    TimestampField,
)
from openintent_project.api.serializers import ProtocolSerializer

from ..models import AuthType, InvocationStatus



class SecretObjectField(ObjectField):
    """The write-only secret: an object of string (or scalar) values."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        for key, value in data.items():
            if not isinstance(value, (str, int, float, bool)) or value is None:
                raise serializers.ValidationError(f"Secret field '{key}' must be a string")
        return data


class VaultCreateInputSerializer(ProtocolSerializer):
    owner_id = StrictCharField(max_length=200)
    name = StrictCharField(max_length=200)


class CredentialCreateInputSerializer(ProtocolSerializer):
    vault_id = StrictCharField(max_length=64)
    service = StrictCharField(max_length=200)
    label = StrictCharField(max_length=200)
    auth_type = serializers.ChoiceField(choices=AuthType.choices, required=False, default=AuthType.API_KEY)
    scopes_available = StringListField(required=False, default=list)
    metadata = ObjectField(required=False, default=dict)
    secret = SecretObjectField(required=False, default=dict)
    expires_at = TimestampField(required=False, allow_null=True, default=None)


class CredentialRotateInputSerializer(ProtocolSerializer):
    secret = SecretObjectField()


class GrantCreateInputSerializer(ProtocolSerializer):
    credential_id = StrictCharField(max_length=64)
    agent_id = StrictCharField(max_length=200)
    granted_by = StrictCharField(max_length=200)
    scopes = StringListField(required=False, default=list)
    constraints = ObjectField(required=False, allow_null=True, default=None)
    delegatable = StrictBooleanField(required=False, default=False)
    delegation_depth = StrictIntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=100)
    context = ObjectField(required=False, default=dict)
    expires_at = TimestampField(required=False, allow_null=True, default=None)


class GrantDelegateInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(max_length=200)
    scopes = StringListField(required=False, allow_null=True, default=None)
    constraints = ObjectField(required=False, allow_null=True, default=None)
    expires_at = TimestampField(required=False, allow_null=True, default=None)


class GrantListQuerySerializer(ProtocolSerializer):
    status = serializers.ChoiceField(choices=["active", "expired", "revoked", "suspended"], required=False)


class InvocationCreateInputSerializer(ProtocolSerializer):
    grant_id = StrictCharField(max_length=64)
    service = StrictCharField(max_length=200)
    tool = StrictCharField(max_length=200)
    agent_id = StrictCharField(max_length=200)
    parameters = ObjectField(required=False, default=dict)
    status = serializers.ChoiceField(choices=InvocationStatus.choices, required=False, default=InvocationStatus.SUCCESS)
    result = ObjectField(required=False, allow_null=True, default=None)
    error = ObjectField(required=False, allow_null=True, default=None)
    cost = ObjectField(required=False, allow_null=True, default=None)
    duration_ms = StrictIntegerField(required=False, allow_null=True, default=None)
    idempotency_key = StrictCharField(required=False, allow_null=True, default=None, max_length=200)
    context = ObjectField(required=False, default=dict)


class InvocationListQuerySerializer(ProtocolSerializer):
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=1000)


class ToolInvokeInputSerializer(ProtocolSerializer):
    tool_name = StrictCharField(max_length=200)
    agent_id = StrictCharField(max_length=200)
    parameters = ObjectField(required=False, default=dict)
    idempotency_key = StrictCharField(required=False, allow_null=True, default=None, max_length=200)
    grant_id = StrictCharField(required=False, allow_null=True, default=None, max_length=64)
    context = ObjectField(required=False, allow_null=True, default=dict)


# --- documented outputs ---------------------------------------------------------------------

class VaultSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    owner_id = serializers.CharField()
    name = serializers.CharField()
    created_at = serializers.CharField()
    credentials = serializers.ListField(child=serializers.UUIDField())


class CredentialSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    vault_id = serializers.UUIDField()
    service = serializers.CharField()
    label = serializers.CharField()
    auth_type = serializers.CharField()
    scopes_available = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    credential_metadata = serializers.DictField()
    metadata = serializers.DictField()
    secret_fields = serializers.ListField(child=serializers.CharField())
    created_at = serializers.CharField()
    rotated_at = serializers.CharField(allow_null=True)
    expires_at = serializers.CharField(allow_null=True)


class GrantSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    credential_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    granted_by = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    constraints = serializers.DictField(allow_null=True)
    source = serializers.CharField()
    delegatable = serializers.BooleanField()
    delegation_depth = serializers.IntegerField()
    delegated_from = serializers.CharField(allow_null=True)
    context = serializers.DictField()
    status = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    revoked_at = serializers.CharField(allow_null=True)


class GrantRevokedSerializer(ProtocolSerializer):
    status = serializers.CharField()
    grant_id = serializers.CharField()


class InvocationSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    invocation_id = serializers.UUIDField()
    grant_id = serializers.UUIDField()
    service = serializers.CharField()
    tool = serializers.CharField()
    agent_id = serializers.CharField()
    parameters = serializers.DictField()
    status = serializers.CharField()
    result = AnyJSONField()
    error = AnyJSONField()
    cost = AnyJSONField()
    duration_ms = serializers.IntegerField(allow_null=True)
    idempotency_key = serializers.CharField(allow_null=True)
    context = serializers.DictField()
    timestamp = serializers.CharField()


class ToolInvokeResultSerializer(ProtocolSerializer):
    invocation_id = serializers.UUIDField()
    tool_name = serializers.CharField()
    status = serializers.CharField()
    result = AnyJSONField()
    error = serializers.CharField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
