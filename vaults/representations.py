"""Wire dicts for RFC-0014 objects (14 §1). Secrets never appear: a credential shows only the
names of its sealed fields."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp

from .models import Credential, ToolGrant, ToolInvocation, Vault


def vault_dict(vault: Vault, credential_ids: list | None = None) -> dict:
    if credential_ids is None:
        credential_ids = list(vault.credentials.order_by("created_at").values_list("pk", flat=True))
    return {
        "id": str(vault.pk), "owner_id": vault.owner_id, "name": vault.name,
        "created_at": format_timestamp(vault.created_at),
        "credentials": [str(pk) for pk in credential_ids],
    }


def credential_dict(credential: Credential) -> dict:
    return {
        "id": str(credential.pk), "vault_id": str(credential.vault_id), "service": credential.service,
        "label": credential.label, "auth_type": credential.auth_type,
        "scopes_available": list(credential.scopes_available or []), "status": credential.status,
        "credential_metadata": dict(credential.metadata or {}), "metadata": dict(credential.metadata or {}),
        "secret_fields": list(credential.secret_fields or []),
        "created_at": format_timestamp(credential.created_at), "rotated_at": format_timestamp(credential.rotated_at),
        "expires_at": format_timestamp(credential.expires_at),
    }


def grant_dict(grant: ToolGrant) -> dict:
    return {
        "id": str(grant.pk), "credential_id": str(grant.credential_id), "agent_id": grant.agent_id,
        "granted_by": grant.granted_by, "scopes": list(grant.scopes or []), "constraints": grant.constraints,
        "source": grant.source, "delegatable": grant.delegatable, "delegation_depth": grant.delegation_depth,
        "delegated_from": str(grant.delegated_from_id) if grant.delegated_from_id else None,
        "context": dict(grant.context or {}), "status": grant.status,
        "expires_at": format_timestamp(grant.expires_at), "created_at": format_timestamp(grant.created_at),
        "revoked_at": format_timestamp(grant.revoked_at),
    }


def invocation_dict(invocation: ToolInvocation) -> dict:
    return {
        "id": str(invocation.pk), "invocation_id": str(invocation.pk), "grant_id": str(invocation.grant_id),
        "service": invocation.service, "tool": invocation.tool, "agent_id": invocation.agent_id,
        "parameters": invocation.parameters, "status": invocation.status, "result": invocation.result,
        "error": invocation.error, "cost": invocation.cost, "duration_ms": invocation.duration_ms,
        "idempotency_key": invocation.idempotency_key, "context": invocation.context,
        "timestamp": format_timestamp(invocation.timestamp),
    }
