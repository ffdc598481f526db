"""RFC-0014 writes and the tool proxy. Views, admin actions, management commands and Celery
tasks all call these; secrets are sealed here (crypto.py) and opened only inside
``tool_invoke`` for a single call."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from openintent_project.api.principal import SYSTEM, Principal
from openintent_project.errors import BadRequest, Conflict, Forbidden, InvalidInput, NotFound, ProtocolError, RateLimited

from . import adapters
from .crypto import VaultKeyError, keyring
from .models import (
    IdempotencyClaim, AuthType, Credential, CredentialStatus, GrantSource, GrantStatus, InvocationStatus, ToolGrant,
    ToolInvocation, Vault,
)
from .sanitize import sanitize, strip_secrets

logger = logging.getLogger(__name__)

# The keys REF reads as secrets from ``metadata`` (14 §4.1); moved out and sealed.
SECRET_METADATA_KEYS = (
    "api_key", "token", "access_token", "refresh_token", "client_id", "client_secret",
    "username", "password", "signing_secret",
)
NO_EXECUTION_CONFIG = "credential has no execution configuration"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
CONTEXT_BINDINGS = ("intent_id", "plan_id", "task_id")


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


# --- intent log (events only where a grant or call is bound to an intent) --------------------

def _task_model():
    try:
        return apps.get_model("intents", "Task")
    except LookupError:  # tasks (RFC-0012) are built by another helper; see docs/vaults.md
        return None


def _bound_intent_id(context: dict | None) -> str | None:
    """The intent a grant or call is bound to: ``context.intent_id``, else the task's intent."""
    context = context or {}
    if context.get("intent_id"):
        return str(context["intent_id"])
    task_model = _task_model()
    if context.get("task_id") and task_model is not None:
        task = task_model.objects.filter(pk=_uuid(context["task_id"])).values("intent_id").first()
        if task and task.get("intent_id"):
            return str(task["intent_id"])
    return None


def _log_event(intent_id: str | None, event_type: str, actor: str, payload: dict) -> None:
    """Append to the bound intent's log, inside the caller's transaction. A vanished intent
    is skipped: the vault action itself is not intent-scoped."""
    if not intent_id or _uuid(intent_id) is None:
        return
    from intents import events
    from intents.services.core import intent_lock

    with transaction.atomic():
        try:
            intent = intent_lock(intent_id)
        except NotFound:
            return
        events.record(intent, event_type, actor, payload)


# --- vaults --------------------------------------------------------------------------------

def vault_create(*, principal: Principal, owner_id: str, name: str) -> Vault:
    return Vault.objects.create(owner_id=owner_id, name=name, created_at=timezone.now())


def vault_get(vault_id: Any) -> Vault:
    vault = Vault.objects.filter(pk=_uuid(vault_id)).first() if _uuid(vault_id) else None
    if vault is None:
        raise NotFound("Vault not found")
    return vault


# --- credentials ---------------------------------------------------------------------------

def credential_get(credential_id: Any) -> Credential:
    pk = _uuid(credential_id)
    credential = Credential.objects.filter(pk=pk).first() if pk else None
    if credential is None:
        raise NotFound("Credential not found")
    return credential


def split_secrets(metadata: dict, secret: dict | None) -> tuple[dict, dict]:
    """(non-secret metadata, secret) — secrets found in metadata move to the secret."""
    clean = {k: v for k, v in metadata.items() if k not in SECRET_METADATA_KEYS}
    sealed = {k: metadata[k] for k in SECRET_METADATA_KEYS if k in metadata}
    sealed.update(secret or {})
    return clean, sealed


def _check_metadata(metadata: dict) -> None:
    """Shape of the execution configuration, so a bad one is a 400 now, not a failed call later."""
    def bad(key, msg, value):
        raise InvalidInput.at(("body", "metadata", key), msg, input=value)

    for key in ("base_url", "adapter", "token_url", "token_grant_type"):
        if key in metadata and metadata[key] is not None and not isinstance(metadata[key], str):
            bad(key, "Input should be a valid string", metadata[key])
    if "auth" in metadata and not isinstance(metadata["auth"], dict):
        bad("auth", "Input should be a valid dictionary", metadata["auth"])
    endpoints = metadata.get("endpoints")
    if endpoints is not None:
        if not isinstance(endpoints, dict) or not all(isinstance(v, dict) for v in endpoints.values()):
            bad("endpoints", "Input should be an object of endpoint objects", endpoints)
        for name, endpoint in endpoints.items():
            if not isinstance(endpoint.get("headers", {}), dict):
                bad("endpoints", f"endpoints.{name}.headers should be an object", endpoint.get("headers"))
    timeout = metadata.get("timeout_ms")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)):
        bad("timeout_ms", "Input should be a valid integer", timeout)
    hosts = metadata.get("allowed_hosts")
    if hosts is not None and (not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts)):
        bad("allowed_hosts", "Input should be a list of strings", hosts)


def _seal(credential: Credential, secret: dict) -> None:
    if secret:
        credential.key_id, credential.secret_ciphertext = keyring().encrypt(secret, associated_data=str(credential.pk))
    else:
        credential.key_id, credential.secret_ciphertext = "", ""
    credential.secret_fields = sorted(secret)


def credential_create(
    *, principal: Principal, vault_id: Any, service: str, label: str, auth_type: str = AuthType.API_KEY,
    scopes_available: list[str] | None = None, metadata: dict | None = None, secret: dict | None = None,
    expires_at: datetime | None = None,
) -> Credential:
    vault = vault_get(vault_id)
    clean, sealed = split_secrets(metadata or {}, secret)
    _check_metadata(clean)
    credential = Credential(
        id=uuid.uuid4(), vault=vault, service=service, label=label, auth_type=auth_type,
        scopes_available=list(scopes_available or []), metadata=clean, expires_at=expires_at,
        created_at=timezone.now(),
    )
    _seal(credential, sealed)
    credential.save(force_insert=True)
    return credential


def credential_rotate_secret(*, principal: Principal, credential_id: Any, secret: dict, merge: bool = False) -> Credential:
    """Replace (or, with ``merge``, update) the sealed secret; keeps the id and grants, sets
    ``rotated_at`` (14 §4.5)."""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().filter(pk=credential_get(credential_id).pk).get()
        current = credential_secret(credential) if merge else {}
        _seal(credential, {**current, **secret})
        credential.rotated_at = timezone.now()
        credential.save(update_fields=["secret_ciphertext", "key_id", "secret_fields", "rotated_at"])
    return credential


def credential_secret(credential: Credential) -> dict:
    """Open the sealed secret. Only the proxy and rotation call this."""
    if not credential.secret_ciphertext:
        return {}
    return keyring().decrypt(credential.secret_ciphertext, associated_data=str(credential.pk))


def credentials_reencrypt(*, batch_size: int = 200) -> int:
    """Re-seal every secret not under the newest key. Each row is swapped with a conditional
    update on its old ciphertext, so a concurrent rotation is never overwritten. Idempotent."""
    ring = keyring()
    moved = 0
    stale = Credential.objects.exclude(secret_ciphertext="").exclude(key_id=ring.current.kid).order_by("pk")
    for credential in stale.only("pk", "secret_ciphertext", "key_id").iterator(chunk_size=batch_size):
        secret = ring.decrypt(credential.secret_ciphertext, associated_data=str(credential.pk))
        kid, token = ring.encrypt(secret, associated_data=str(credential.pk))
        moved += Credential.objects.filter(pk=credential.pk, secret_ciphertext=credential.secret_ciphertext).update(
            secret_ciphertext=token, key_id=kid
        )
    return moved


def credential_revoke(*, principal: Principal, credential_id: Any) -> tuple[Credential, int]:
    """Revoke a credential and every active grant on it (with their delegations). Idempotent.
    Returns ``(credential, grants_revoked)``."""
    with transaction.atomic():
        credential = credential_get(credential_id)
        Credential.objects.filter(pk=credential.pk).exclude(status=CredentialStatus.REVOKED).update(
            status=CredentialStatus.REVOKED
        )
        revoked = 0
        live = ToolGrant.objects.filter(credential=credential).exclude(status__in=[GrantStatus.REVOKED, GrantStatus.EXPIRED])
        for grant_pk in live.values_list("pk", flat=True):
            _grant, cascade = grant_revoke(principal=principal, grant_id=grant_pk, reason="credential_revoked")
            revoked += 1 + cascade
    return credential_get(credential.pk), revoked


def credentials_expire(*, now: datetime | None = None) -> int:
    """``active`` credentials past ``expires_at`` → ``expired`` (14 §5). Idempotent."""
    now = now or timezone.now()
    return Credential.objects.filter(status=CredentialStatus.ACTIVE, expires_at__lte=now).update(
        status=CredentialStatus.EXPIRED
    )


# --- grants --------------------------------------------------------------------------------

def grant_get(grant_id: Any) -> ToolGrant:
    pk = _uuid(grant_id)
    grant = ToolGrant.objects.select_related("credential").filter(pk=pk).first() if pk else None
    if grant is None:
        raise NotFound("Grant not found")
    return grant


def grant_list_for_agent(agent_id: str, *, status: str | None = None) -> list[ToolGrant]:
    grants = ToolGrant.objects.filter(agent_id=agent_id)
    if status:
        grants = grants.filter(status=status)
    return list(grants.order_by("created_at"))


def _check_context_exists(context: dict) -> None:
    if context.get("intent_id"):
        from intents.services.core import intent_exists

        if not intent_exists(context["intent_id"]):
            raise NotFound("Intent not found")
    task_model = _task_model()
    if context.get("task_id") and task_model is not None:
        if not task_model.objects.filter(pk=_uuid(context["task_id"])).exists():
            raise NotFound("Task not found")


def _check_constraints(constraints: dict | None) -> None:
    if not constraints:
        return
    limit = constraints.get("max_invocations_per_hour")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInput.at(
            ("body", "constraints", "max_invocations_per_hour"),
            "Input should be a non-negative integer", type="int_type", input=limit,
        )
    cost = constraints.get("max_cost_per_invocation")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (int, float))):
        raise InvalidInput.at(
            ("body", "constraints", "max_cost_per_invocation"), "Input should be a valid number",
            type="float_type", input=cost,
        )
    for name in ("allowed_parameters", "denied_parameters"):
        value = constraints.get(name)
        if value is not None and not isinstance(value, (dict, list)):
            raise InvalidInput.at(("body", "constraints", name), "Input should be an object or a list", input=value)
    for name in ("allowed_hosts", "ip_allowlist"):
        value = constraints.get(name)
        if value is not None and (not isinstance(value, list) or not all(isinstance(h, str) for h in value)):
            raise InvalidInput.at(("body", "constraints", name), "Input should be a list of strings", input=value)


def grant_create(
    *, principal: Principal, credential_id: Any, agent_id: str, granted_by: str, scopes: list[str] | None = None,
    constraints: dict | None = None, delegatable: bool = False, delegation_depth: int | None = None,
    context: dict | None = None, expires_at: datetime | None = None,
) -> ToolGrant:
    scopes = list(scopes or [])
    context = dict(context or {})
    with transaction.atomic():
        credential = credential_get(credential_id)
        if credential.scopes_available:
            extra = [scope for scope in scopes if scope not in credential.scopes_available]
            if extra:
                raise InvalidInput.at(
                    ("body", "scopes"), f"Scopes not available on the credential: {', '.join(extra)}",
                    type="value_error", input=scopes,
                )
        now = timezone.now()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput.at(("body", "expires_at"), "expires_at must be in the future", input=expires_at.isoformat())
        _check_constraints(constraints)
        _check_context_exists(context)
        if credential.status != CredentialStatus.ACTIVE:
            raise Conflict(f"Credential is {credential.status}")
        grant = ToolGrant.objects.create(
            credential=credential, agent_id=agent_id, granted_by=granted_by, scopes=scopes,
            constraints=constraints, delegatable=delegatable,
            delegation_depth=delegation_depth if delegation_depth is not None else (1 if delegatable else 0),
            context=context, expires_at=expires_at, created_at=now,
        )
        from openintent_project.api.timestamps import format_timestamp

        _log_event(_bound_intent_id(context), "grant.created", principal.id, {
            "grant_id": str(grant.pk), "credential_id": str(credential.pk), "agent_id": agent_id,
            "scopes": scopes, "expires_at": format_timestamp(expires_at),
        })
    return grant


def _descendants(grant_pk: uuid.UUID) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    frontier = [grant_pk]
    while frontier:
        children = list(ToolGrant.objects.filter(delegated_from__in=frontier).values_list("pk", flat=True))
        children = [c for c in children if c not in found]
        found.extend(children)
        frontier = children
    return found


def grant_revoke(*, principal: Principal, grant_id: Any, reason: str = "revoked") -> tuple[ToolGrant, int]:
    """Revoke a grant and every grant delegated from it (cascade). Idempotent: a repeat
    changes nothing, keeps the first ``revoked_at`` and writes no event. Returns
    ``(grant, cascade_count)``."""
    with transaction.atomic():
        grant = grant_get(grant_id)
        now = timezone.now()
        changed = ToolGrant.objects.filter(pk=grant.pk).exclude(status=GrantStatus.REVOKED).update(
            status=GrantStatus.REVOKED, revoked_at=now
        )
        if not changed:
            return grant_get(grant.pk), 0
        cascade = ToolGrant.objects.filter(pk__in=_descendants(grant.pk)).exclude(status=GrantStatus.REVOKED).update(
            status=GrantStatus.REVOKED, revoked_at=now
        )
        _log_event(_bound_intent_id(grant.context), "grant.revoked", principal.id, {
            "grant_id": str(grant.pk), "reason": reason, "cascade_count": cascade,
        })
        return grant_get(grant.pk), cascade


def grants_expire(*, now: datetime | None = None) -> int:
    """``active``/``suspended`` grants past ``expires_at`` → ``expired`` (14 §5). Each grant is
    claimed with a conditional update, so concurrent sweeps never double-log. Idempotent."""
    now = now or timezone.now()
    expired = 0
    due = ToolGrant.objects.filter(status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED], expires_at__lte=now)
    for pk, context in due.values_list("pk", "context"):
        with transaction.atomic():
            claimed = ToolGrant.objects.filter(
                pk=pk, status__in=[GrantStatus.ACTIVE, GrantStatus.SUSPENDED], expires_at__lte=now
            ).update(status=GrantStatus.EXPIRED)
            if claimed:
                expired += 1
                _log_event(_bound_intent_id(context), "grant.expired", SYSTEM.id, {"grant_id": str(pk)})
    return expired


# --- invocation log ------------------------------------------------------------------------

def invocation_record(
    *, principal: Principal, grant_id: Any, service: str, tool: str, agent_id: str, parameters: dict | None = None,
    status: str = InvocationStatus.SUCCESS, result: dict | None = None, error: dict | None = None,
    cost: dict | None = None, duration_ms: int | None = None, idempotency_key: str | None = None,
    context: dict | None = None,
) -> ToolInvocation:
    grant = grant_get(grant_id)
    return ToolInvocation.objects.create(
        grant=grant, service=service, tool=tool, agent_id=agent_id, parameters=sanitize(parameters or {}),
        status=status, result=sanitize(result) if result is not None else None, error=sanitize(error) if error is not None else None,
        cost=cost, duration_ms=duration_ms, idempotency_key=idempotency_key, context=sanitize(context or {}),
        timestamp=timezone.now(),
    )


def invocation_list(grant_id: Any, *, limit: int = 50) -> list[ToolInvocation]:
    pk = _uuid(grant_id)
    if pk is None:
        return []
    return list(ToolInvocation.objects.filter(grant_id=pk).order_by("-timestamp")[: max(limit, 0)])


# --- the tool proxy ------------------------------------------------------------------------

def _context_matches(grant: ToolGrant, context: dict) -> bool:
    """A grant bound to an intent/plan/task is usable only in that context."""
    for key in CONTEXT_BINDINGS:
        bound = (grant.context or {}).get(key)
        if bound and str(context.get(key) or "") != str(bound):
            return False
    return True


def _usable(grant: ToolGrant, context: dict, now: datetime) -> bool:
    return (
        grant.status == GrantStatus.ACTIVE
        and (grant.expires_at is None or grant.expires_at > now)
        and grant.credential.status == CredentialStatus.ACTIVE
        and _context_matches(grant, context)
    )


def _covers(grant: ToolGrant, tool_name: str) -> bool:
    tools = (grant.context or {}).get("tools") or []
    return tool_name in (grant.scopes or []) or (isinstance(tools, list) and tool_name in tools)


def grant_resolve(*, agent_id: str, tool_name: str, grant_id: Any = None, context: dict | None = None) -> ToolGrant:
    """14 §3 step 1 (FIX): the agent's first usable grant (by ``created_at``) naming the tool
    in its scopes or ``context.tools``; only if none does, one whose credential's service is
    the tool. Stale grants are skipped so they cannot hide a valid one."""
    context = context or {}
    no_grant = Forbidden(f"No active grant found for agent '{agent_id}' to use tool '{tool_name}'", code="GRANT_NOT_FOUND")
    if grant_id is not None:
        grant = ToolGrant.objects.select_related("credential").filter(pk=_uuid(grant_id), agent_id=agent_id).first()
        if grant is None or not (_covers(grant, tool_name) or grant.credential.service == tool_name):
            raise no_grant
        return grant
    grants = list(
        ToolGrant.objects.select_related("credential").filter(agent_id=agent_id, status=GrantStatus.ACTIVE).order_by("created_at")
    )
    now = timezone.now()
    usable = [g for g in grants if _usable(g, context, now)]
    for grant in usable:
        if _covers(grant, tool_name):
            return grant
    for grant in usable:
        if grant.credential.service == tool_name:
            return grant
    raise no_grant


def _check_grant(grant: ToolGrant, tool_name: str, context: dict) -> None:
    """14 §3 steps 2–3 for an explicitly named grant (resolution already skipped these)."""
    now = timezone.now()
    if grant.status != GrantStatus.ACTIVE:
        code = {"revoked": "GRANT_REVOKED", "suspended": "GRANT_SUSPENDED"}.get(grant.status, "GRANT_EXPIRED")
        raise Forbidden(f"Grant for tool '{tool_name}' is {grant.status}", code=code)
    if grant.expires_at is not None and grant.expires_at <= now:
        raise Forbidden(f"Grant for tool '{tool_name}' has expired", code="GRANT_EXPIRED")
    credential = grant.credential
    if credential.status != CredentialStatus.ACTIVE or (credential.expires_at and credential.expires_at <= now):
        status = credential.status if credential.status != CredentialStatus.ACTIVE else CredentialStatus.EXPIRED
        raise Forbidden(f"Credential for tool '{tool_name}' is {status}", code=f"CREDENTIAL_{status.upper()}")
    if not _context_matches(grant, context):
        raise Forbidden(f"Grant for tool '{tool_name}' is bound to a different context", code="GRANT_CONTEXT_MISMATCH")


def _value_listed(rule: Any, value: Any) -> bool:
    if isinstance(rule, list):
        return value in rule
    if rule is True or rule is None or rule == "*":
        return True
    return rule == value


def _check_parameters(grant: ToolGrant, tool_name: str, parameters: dict) -> None:
    """``denied_parameters``: a named parameter is refused when present (``true``/``"*"``/null)
    or when its value is listed. ``allowed_parameters``: only named parameters may be sent,
    and a listed value set restricts the value. A list form names parameters only."""
    constraints = grant.constraints or {}
    denied = constraints.get("denied_parameters")
    if isinstance(denied, list):
        denied = {name: True for name in denied}
    for name, rule in (denied or {}).items():
        if name in parameters and _value_listed(rule, parameters[name]):
            raise Forbidden(f"Parameter '{name}' is denied for tool '{tool_name}'", code="GRANT_PARAMETER_DENIED")
    allowed = constraints.get("allowed_parameters")
    if allowed is None:
        return
    if isinstance(allowed, list):
        allowed = {name: True for name in allowed}
    for name, value in parameters.items():
        if name not in allowed or not _value_listed(allowed[name], value):
            raise Forbidden(f"Parameter '{name}' is not allowed for tool '{tool_name}'", code="GRANT_PARAMETER_DENIED")


def _check_task_running(grant: ToolGrant, tool_name: str) -> None:
    task_id = (grant.context or {}).get("task_id")
    task_model = _task_model()
    if not task_id or task_model is None:
        return
    status = task_model.objects.filter(pk=_uuid(task_id)).values_list("status", flat=True).first()
    if status != "running":
        raise Forbidden(f"Grant for tool '{tool_name}' is bound to a task that is not running", code="GRANT_CONTEXT_MISMATCH")


def _estimated_cost(credential: Credential, tool_name: str) -> float | None:
    endpoint = (credential.metadata.get("endpoints") or {}).get(tool_name) or {}
    cost = endpoint.get("cost_per_invocation", credential.metadata.get("cost_per_invocation")) if isinstance(endpoint, dict) else None
    return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None


def _check_cost(grant: ToolGrant, tool_name: str) -> None:
    limit = (grant.constraints or {}).get("max_cost_per_invocation")
    cost = _estimated_cost(grant.credential, tool_name)
    if limit is not None and cost is not None and cost > float(limit):
        raise Forbidden(f"Estimated cost {cost} exceeds max_cost_per_invocation {limit}", code="GRANT_PARAMETER_DENIED")


def rate_limit_claim(grant: ToolGrant, *, limit: int, window_seconds: int | None = None) -> None:
    """Take one slot in the grant's fixed window, or raise ``RateLimited`` (429 + Retry-After).

    Every step is a single conditional UPDATE, so any number of web processes share the
    limit without locks: increment inside a live window that has room; otherwise open a new
    window if the old one has lapsed (only one racer can, the others then see a live window);
    otherwise the window is full."""
    window = timedelta(seconds=window_seconds or settings.OPENINTENT_TOOLS_RATE_WINDOW_SECONDS)
    rows = ToolGrant.objects.filter(pk=grant.pk)
    message = f"Rate limit exceeded: {limit} invocations per hour"
    for _ in range(5):
        now = timezone.now()
        live = Q(rate_window_start__gt=now - window)
        if rows.filter(live, rate_window_count__lt=limit).update(rate_window_count=F("rate_window_count") + 1):
            return
        lapsed = Q(rate_window_start__isnull=True) | Q(rate_window_start__lte=now - window)
        if limit > 0 and rows.filter(lapsed).update(rate_window_start=now, rate_window_count=1):
            return
        state = rows.values("rate_window_start", "rate_window_count").first()
        start = state and state["rate_window_start"]
        if limit <= 0 or (start and start > now - window and state["rate_window_count"] >= limit):
            retry_after = math.ceil(((start + window) - now).total_seconds()) if start else int(window.total_seconds())
            raise RateLimited(message, retry_after=max(1, retry_after), code="GRANT_RATE_LIMITED")
    raise RateLimited(message, retry_after=1, code="GRANT_RATE_LIMITED")


def _response(invocation: ToolInvocation, tool_name: str) -> dict:
    error = invocation.error.get("message") if isinstance(invocation.error, dict) else invocation.error
    return {
        "invocation_id": str(invocation.pk), "tool_name": tool_name, "status": invocation.status,
        "result": invocation.result, "error": error, "duration_ms": invocation.duration_ms,
    }


def _raise_for_outcome(invocation: ToolInvocation, http_status: int | None) -> None:
    """14 §3 step 8: timeout → 504, denied → 403, upstream ≥ 500 → 502; else 200."""
    message = (invocation.error or {}).get("message") if isinstance(invocation.error, dict) else None
    if invocation.status == InvocationStatus.TIMEOUT:
        raise ProtocolError(message or "Upstream timeout", status_code=504, code="SERVICE_ERROR", invocation_id=str(invocation.pk))
    if invocation.status == InvocationStatus.DENIED:
        raise Forbidden(message or "Execution denied", code="PROXY_ERROR", invocation_id=str(invocation.pk))
    if invocation.error == {"message": NO_EXECUTION_CONFIG}:
        raise BadRequest(NO_EXECUTION_CONFIG)
    if invocation.status == InvocationStatus.ERROR and http_status and http_status >= 500:
        raise ProtocolError(message or "Upstream error", status_code=502, code="SERVICE_ERROR", invocation_id=str(invocation.pk))


def _record_call(grant: ToolGrant, *, actor: str, tool_name: str, agent_id: str, parameters: dict, status: str,
                 result: Any, error: str | None, duration_ms: int | None, idempotency_key: str | None,
                 context: dict, call_context: dict) -> ToolInvocation:
    with transaction.atomic():
        invocation = ToolInvocation.objects.create(
            grant=grant, service=grant.credential.service, tool=tool_name, agent_id=agent_id,
            parameters=sanitize(parameters), status=status, result=result,
            error={"message": error} if error else None, duration_ms=duration_ms,
            idempotency_key=idempotency_key, context=context, timestamp=timezone.now(),
        )
        summary = sorted(invocation.parameters) if isinstance(invocation.parameters, dict) else []
        _log_event(call_context.get("intent_id"), "tool.invoked", actor, {
            "invocation_id": str(invocation.pk), "grant_id": str(grant.pk), "service": invocation.service,
            "tool": tool_name, "parameters_summary": summary, "status": status,
            "duration_ms": duration_ms, "cost": None,
        })
    return invocation


def _idempotent_replay(grant: ToolGrant, key: str, tool_name: str) -> dict | None:
    """The stored outcome of an earlier call with this key (within 24 h), re-raised or returned."""
    previous = (
        ToolInvocation.objects.filter(grant=grant, idempotency_key=key, timestamp__gte=timezone.now() - IDEMPOTENCY_WINDOW)
        .order_by("timestamp").first()
    )
    if previous is None:
        return None
    _raise_for_outcome(previous, (previous.context or {}).get("http_status"))
    return _response(previous, tool_name)


def _idempotency_claim(grant: ToolGrant, key: str, tool_name: str) -> dict | None:
    """Claim the key so that exactly one of several concurrent duplicates executes. A loser
    gets the winner's stored outcome, or 409 while the winner is still running. Claims older
    than the 24 h window are replaced (conditional delete, so only one racer does)."""
    for _ in range(2):
        now = timezone.now()
        try:
            with transaction.atomic():
                IdempotencyClaim.objects.create(grant=grant, key=key, created_at=now)
            return None
        except IntegrityError:
            IdempotencyClaim.objects.filter(grant=grant, key=key, created_at__lt=now - IDEMPOTENCY_WINDOW).delete()
            replay = _idempotent_replay(grant, key, tool_name)
            if replay is not None:
                return replay
            if IdempotencyClaim.objects.filter(grant=grant, key=key).exists():
                raise Conflict("A call with this idempotency_key is still in progress", code="IDEMPOTENCY_IN_PROGRESS")
    raise Conflict("A call with this idempotency_key is still in progress", code="IDEMPOTENCY_IN_PROGRESS")


def idempotency_claims_purge(*, now: datetime | None = None) -> int:
    """Drop claims older than the 24 h window (they no longer protect anything)."""
    now = now or timezone.now()
    return IdempotencyClaim.objects.filter(created_at__lt=now - IDEMPOTENCY_WINDOW).delete()[0]


def _release_claim(grant: ToolGrant, key: str | None) -> None:
    if key:
        IdempotencyClaim.objects.filter(grant=grant, key=key).delete()


def tool_invoke(
    *, principal: Principal, tool_name: str, agent_id: str, parameters: dict | None = None,
    idempotency_key: str | None = None, grant_id: Any = None, context: dict | None = None,
) -> dict:
    """Perform one tool call for ``agent_id`` through its grant (14 §3). Returns the wire dict;
    raises the protocol's errors. Secrets are opened here, for this call only."""
    if not principal.may_act_for(agent_id):
        raise Forbidden(f"Principal may not act for agent '{agent_id}'")
    parameters = parameters or {}
    context = context or {}
    grant: ToolGrant | None = None
    try:
        grant = grant_resolve(agent_id=agent_id, tool_name=tool_name, grant_id=grant_id, context=context)
        _check_grant(grant, tool_name, context)
        _check_parameters(grant, tool_name, parameters)
        _check_task_running(grant, tool_name)
        _check_cost(grant, tool_name)
        if idempotency_key:
            replay = _idempotent_replay(grant, idempotency_key, tool_name)
            if replay is not None:
                return replay
        limit = (grant.constraints or {}).get("max_invocations_per_hour")
        if limit is not None:
            rate_limit_claim(grant, limit=int(limit))
        if idempotency_key:
            replay = _idempotency_claim(grant, idempotency_key, tool_name)
            if replay is not None:
                return replay
    except (Forbidden, RateLimited) as exc:
        with transaction.atomic():
            _log_event(context.get("intent_id"), "tool.denied", principal.id, {
                "grant_id": str(grant.pk) if grant else None, "service": grant.credential.service if grant else None,
                "tool": tool_name, "error_code": exc.extra.get("code"), "reason": str(exc.detail),
            })
        raise

    try:
        invocation, http_status = _execute_and_record(principal, grant, tool_name, agent_id, parameters, idempotency_key, context)
    except Exception:
        # Nothing was recorded: free the idempotency key so a retry can run.
        _release_claim(grant, idempotency_key)
        raise
    _raise_for_outcome(invocation, http_status)
    return _response(invocation, tool_name)


def _execute_and_record(principal, grant, tool_name, agent_id, parameters, idempotency_key, context):
    credential = grant.credential
    kind = adapters.adapter_kind_for(credential.metadata or {}, credential.auth_type)
    record = dict(actor=principal.id, tool_name=tool_name, agent_id=agent_id, parameters=parameters,
                  idempotency_key=idempotency_key, call_context=context)
    if kind is None:
        # 14 §3 step 9: never pretend; record the attempt, execute nothing.
        invocation = _record_call(grant, status=InvocationStatus.ERROR, result=None, error=NO_EXECUTION_CONFIG,
                                  duration_ms=0, context={}, **record)
        return invocation, None
    try:
        secret = credential_secret(credential)
    except VaultKeyError as exc:
        # 14 §3 step 10: a 500 that says why, with nothing secret in it.
        logger.error("Credential %s cannot be opened: %s", credential.pk, exc)
        raise ProtocolError(f"Credential secret cannot be decrypted: {exc}", status_code=500) from None
    call = adapters.ToolCall(
        tool_name=tool_name, parameters=parameters, metadata=credential.metadata or {}, secret=secret,
        auth_type=credential.auth_type, constraints=grant.constraints,
    )
    # No transaction is open here: the upstream call may take seconds (STYLE §2).
    outcome = adapters.get_adapter(kind).execute(call)
    if outcome.refreshed_secret:
        credential_rotate_secret(principal=SYSTEM, credential_id=credential.pk, secret=outcome.refreshed_secret)
    call_context = {}
    if outcome.request_fingerprint:
        call_context["request_fingerprint"] = outcome.request_fingerprint
    if outcome.http_status:
        call_context["http_status"] = outcome.http_status
    invocation = _record_call(
        grant, status=outcome.status, result=outcome.result, error=strip_secrets(outcome.error, secret) if outcome.error else None,
        duration_ms=outcome.duration_ms, context=call_context, **record,
    )
    return invocation, outcome.http_status


# --- operator edits (admin) ----------------------------------------------------------------

VAULT_EDITABLE = ("owner_id", "name")
CREDENTIAL_EDITABLE = ("vault", "service", "label", "auth_type", "scopes_available", "status", "metadata", "expires_at")


def vault_update(*, principal: Principal, vault_id: Any, **fields: Any) -> Vault:
    changes = {k: v for k, v in fields.items() if k in VAULT_EDITABLE}
    Vault.objects.filter(pk=vault_get(vault_id).pk).update(**changes)
    return vault_get(vault_id)


def credential_update(*, principal: Principal, credential_id: Any, **fields: Any) -> Credential:
    """Non-secret fields only. Secret keys typed into ``metadata`` are moved into the sealed
    secret, as on create."""
    changes = {k: v for k, v in fields.items() if k in CREDENTIAL_EDITABLE}
    with transaction.atomic():
        credential = Credential.objects.select_for_update().filter(pk=credential_get(credential_id).pk).get()
        if "metadata" in changes:
            clean, moved = split_secrets(changes["metadata"] or {}, None)
            changes["metadata"] = clean
            if moved:
                _seal(credential, {**credential_secret(credential), **moved})
                credential.rotated_at = timezone.now()
        for key, value in changes.items():
            setattr(credential, key, value)
        credential.save()
    return credential


# --- delegation, suspension, task-bound grants (14 §5, §6 MAY) ------------------------------

def _no_looser(parent: dict | None, child: dict | None) -> dict | None:
    """The child's constraints, with every numeric limit of the parent kept or tightened."""
    parent, child = dict(parent or {}), dict(child or {})
    if not parent:
        return child or None
    merged = {**parent, **child}
    for key in ("max_invocations_per_hour", "max_cost_per_invocation"):
        if parent.get(key) is not None:
            wanted = child.get(key)
            if wanted is not None and wanted > parent[key]:
                raise InvalidInput.at(("body", "constraints", key), f"{key} may not exceed the source grant's {parent[key]}", input=wanted)
            merged[key] = parent[key] if wanted is None else wanted
    for key in ("denied_parameters",):
        if parent.get(key) and child.get(key) is not None and child[key] != parent[key]:
            raise InvalidInput.at(("body", "constraints", key), f"{key} may not be loosened", input=child[key])
    for key in ("allowed_hosts", "ip_allowlist"):
        if parent.get(key) and child.get(key) is not None and not set(child[key]) <= set(parent[key]):
            raise InvalidInput.at(("body", "constraints", key), f"{key} must be a subset of the source grant's", input=child[key])
    return merged


def grant_delegate(
    *, principal: Principal, grant_id: Any, agent_id: str, scopes: list[str] | None = None,
    constraints: dict | None = None, expires_at: datetime | None = None,
) -> ToolGrant:
    """Delegate part of a grant to another agent: scopes ⊆ the source's, constraints no looser,
    expiry no later, depth one less. Only the source grant's agent (or an operator) may."""
    with transaction.atomic():
        source = grant_get(grant_id)
        if not principal.may_act_for(source.agent_id):
            raise Forbidden(f"Principal may not act for agent '{source.agent_id}'")
        source = ToolGrant.objects.select_for_update().select_related("credential").get(pk=source.pk)
        if source.status != GrantStatus.ACTIVE or not source.delegatable or source.delegation_depth <= 0:
            raise Conflict("Grant is not delegatable")
        scopes = list(source.scopes) if scopes is None else list(scopes)
        extra = [s for s in scopes if s not in (source.scopes or [])]
        if extra:
            raise InvalidInput.at(("body", "scopes"), f"Scopes not held by the source grant: {', '.join(extra)}", input=scopes)
        _check_constraints(constraints)
        merged = _no_looser(source.constraints, constraints)
        now = timezone.now()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput.at(("body", "expires_at"), "expires_at must be in the future", input=expires_at.isoformat())
        if source.expires_at is not None:
            if expires_at is not None and expires_at > source.expires_at:
                raise InvalidInput.at(("body", "expires_at"), "expires_at may not be later than the source grant's", input=expires_at.isoformat())
            expires_at = expires_at or source.expires_at
        depth = source.delegation_depth - 1
        child = ToolGrant.objects.create(
            credential=source.credential, agent_id=agent_id, granted_by=principal.id, scopes=scopes,
            constraints=merged, source=GrantSource.DELEGATED, delegatable=depth > 0, delegation_depth=depth,
            delegated_from=source, context=dict(source.context or {}), expires_at=expires_at, created_at=now,
        )
        _log_event(_bound_intent_id(source.context), "grant.delegated", principal.id, {
            "grant_id": str(child.pk), "delegated_from": str(source.pk), "agent_id": agent_id, "scopes": scopes,
        })
    return child


def grant_set_suspended(*, principal: Principal, grant_id: Any, suspended: bool) -> ToolGrant:
    """``active`` ↔ ``suspended`` by a conditional update; any other state is a 409."""
    grant = grant_get(grant_id)
    old, new = (GrantStatus.ACTIVE, GrantStatus.SUSPENDED) if suspended else (GrantStatus.SUSPENDED, GrantStatus.ACTIVE)
    if not ToolGrant.objects.filter(pk=grant.pk, status=old).update(status=new):
        raise Conflict(f"Grant is {grant_get(grant.pk).status}")
    return grant_get(grant.pk)


def grants_revoke_for_task(*, task_id: Any, reason: str = "task_finished") -> int:
    """Revoke every active grant bound to ``task_id`` and their delegations (14 §5). Meant to
    run inside the transaction of the task's final transition (tasks, RFC-0012, call this);
    logs ``grant.revoked`` with actor ``system`` on the task's intent. Returns grants revoked."""
    revoked = 0
    for grant_pk in ToolGrant.objects.filter(status=GrantStatus.ACTIVE, context__task_id=str(task_id)).values_list("pk", flat=True):
        _grant, cascade = grant_revoke(principal=SYSTEM, grant_id=grant_pk, reason=reason)
        revoked += 1 + cascade
    return revoked
