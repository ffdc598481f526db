"""RFC-0014: vaults, credentials (secret sealed with AES-GCM, see crypto.py), tool grants and
the invocation log. Writes go through ``vaults.services``."""

from __future__ import annotations

import uuid

from django.db import models


class AuthType(models.TextChoices):
    API_KEY = "api_key"
    OAUTH2_TOKEN = "oauth2_token"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    BEARER_TOKEN = "bearer_token"
    BASIC_AUTH = "basic_auth"
    CONNECTION_STRING = "connection_string"
    CUSTOM = "custom"
    # The adapter registry also accepts these (14 §1).
    REST = "rest"
    WEBHOOK = "webhook"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class GrantStatus(models.TextChoices):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUSPENDED = "suspended"


class GrantSource(models.TextChoices):
    DIRECT = "direct"
    DELEGATED = "delegated"


class InvocationStatus(models.TextChoices):
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    DENIED = "denied"


class Vault(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_id = models.CharField(max_length=200, db_index=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"


class Credential(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vault = models.ForeignKey(Vault, on_delete=models.CASCADE, related_name="credentials")
    service = models.CharField(max_length=200, db_index=True)
    label = models.CharField(max_length=200)
    auth_type = models.CharField(max_length=40, choices=AuthType.choices, default=AuthType.API_KEY)
    scopes_available = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    # Non-secret execution configuration only (base_url, endpoints, auth placement, ...).
    metadata = models.JSONField(default=dict, blank=True)
    # Names of the sealed secret fields (never their values), and the sealed JSON object:
    # "v1:<key id>:<base64(nonce | AES-GCM ciphertext)>", associated data = credential id.
    secret_fields = models.JSONField(default=list, blank=True)
    secret_ciphertext = models.TextField(blank=True, default="")
    key_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    created_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.service}: {self.label}"


class ToolGrant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="grants")
    agent_id = models.CharField(max_length=200, db_index=True)
    granted_by = models.CharField(max_length=200)
    scopes = models.JSONField(default=list, blank=True)
    constraints = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=GrantSource.choices, default=GrantSource.DIRECT)
    delegatable = models.BooleanField(default=False)
    delegation_depth = models.PositiveIntegerField(default=0)
    delegated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="delegations"
    )
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=GrantStatus.choices, default=GrantStatus.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Fixed-window rate limiter shared by every web process: claimed with conditional
    # UPDATEs (services.rate_limit_claim), never read-modify-write in Python.
    rate_window_start = models.DateTimeField(null=True, blank=True)
    rate_window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["agent_id", "status", "created_at"], name="vaults_grant_agent_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} → {self.credential_id} ({self.status})"


class ToolInvocation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: the invocation log is an audit trail; revoke grants and credentials instead of
    # deleting them (the admin then explains why a delete is refused).
    grant = models.ForeignKey(ToolGrant, on_delete=models.PROTECT, related_name="invocations")
    service = models.CharField(max_length=200)
    tool = models.CharField(max_length=200)
    agent_id = models.CharField(max_length=200)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=InvocationStatus.choices, default=InvocationStatus.SUCCESS)
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    cost = models.JSONField(null=True, blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    context = models.JSONField(default=dict, blank=True)
    timestamp = models.DateTimeField()

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["grant", "-timestamp"], name="vaults_invocation_grant_idx"),
            models.Index(fields=["grant", "idempotency_key"], name="vaults_invocation_idem_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.tool} by {self.agent_id}: {self.status}"


class IdempotencyClaim(models.Model):
    """One row per (grant, idempotency_key) a ``tools/invoke`` call has started: the unique
    constraint lets exactly one of several concurrent duplicates execute (14 §3 step 6)."""

    grant = models.ForeignKey(ToolGrant, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["grant", "key"], name="vaults_idempotency_once")]
