"""Access control (RFC-0011, spec 11): the evaluator registered with ``intents.access``, ACL
writes, access requests and the expiry sweep."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from intents import access as intent_access
from intents import events
from intents.access import Permission
from intents.models import Intent
from intents.services.core import intent_get, intent_lock
from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.db import rows
from openintent_project.errors import Forbidden, NotFound

from ..models import AccessControl, AccessRequest, AclEntry, DecisionStatus, DefaultPolicy

LEVELS = {"read": Permission.READ, "write": Permission.WRITE, "admin": Permission.ADMIN}


# --- evaluation (11 §2) -------------------------------------------------------------------

def _open_unlisted_level() -> Permission:
    return LEVELS.get(getattr(settings, "ACL_OPEN_UNLISTED_PERMISSION", "read"), Permission.READ)


def _unexpired(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


def effective_permission(principal_id: str, intent: Intent, *, now: datetime | None = None) -> Permission:
    """The effective permission of ``principal_id`` on ``intent`` (11 §2, rules 2-5)."""
    if principal_id == intent.created_by:
        return Permission.ADMIN
    # Checked on every write to an intent: one compiled primary-key read (rows.py).
    acl = rows.get_row(AccessControl, intent.pk)
    if acl is None:
        return Permission.ADMIN  # no ACL: legacy full access (rule 4)
    policy = acl.default_policy
    now = now or timezone.now()
    granted = AclEntry.objects.filter(
        _unexpired(now), intent_id=intent.pk, principal_id=principal_id, principal_type__in=["agent", "user"]
    ).values_list("permission", flat=True)
    best = max((LEVELS[p] for p in granted if p in LEVELS), default=Permission.NONE)
    if best > Permission.NONE:
        return best
    return _open_unlisted_level() if policy == DefaultPolicy.OPEN else Permission.NONE


def readable_intent_filter(principal: Principal) -> Q | None:
    """A filter on ``Intent`` keeping only what ``principal`` can read; ``None`` = no filter.
    For lists spanning intents (11 §2: they leave unreadable intents out, never 403)."""
    if principal.is_operator:
        return None
    now = timezone.now()
    granted = AclEntry.objects.filter(_unexpired(now), principal_id=principal.id).values("intent_id")
    q = Q(access_control__isnull=True) | Q(created_by=principal.id) | Q(pk__in=granted)
    if _open_unlisted_level() >= Permission.READ:
        q |= Q(access_control__default_policy=DefaultPolicy.OPEN)
    return q


def _denial(intent: Intent, required: Permission, current: Permission) -> Forbidden:
    return Forbidden(
        {
            "error": "forbidden",
            "message": f"Principal lacks '{required.label}' permission on intent {intent.pk}",
            "required_permission": required.label,
            "current_permission": current.label,
            "access_request_url": f"/api/v1/intents/{intent.pk}/access-requests",
        }
    )


def _audit_operator_override(principal: Principal, intent: Intent, required: Permission, current: Permission) -> None:
    """Operator keys bypass the ACL; each bypass leaves an ``access_granted`` event."""
    payload = {
        "action": "operator_override",
        "principal_id": principal.id,
        "permission": required.label,
        "current_permission": current.label,
    }
    with transaction.atomic():
        # Lock the row and refresh the counter the caller's instance uses for its own events.
        seq = Intent.objects.select_for_update().filter(pk=intent.pk).values_list("event_sequence", flat=True).first()
        if seq is None:
            return
        intent.event_sequence = seq
        events.record(intent, "access_granted", principal.id, payload)


def check_permission(principal: Principal, intent: Intent, required: Permission) -> None:
    """The evaluator registered with ``intents.access``: raise the 11 §2 denial unless
    ``principal`` holds ``required`` on ``intent``."""
    current = effective_permission(principal.id, intent)
    if current >= required:
        return
    if principal.is_operator:
        if principal.id != events.SYSTEM_ACTOR:
            _audit_operator_override(principal, intent, required, current)
        return
    raise _denial(intent, required, current)


def require(principal: Principal, intent: Intent, required: Permission) -> None:
    """The ACL check through the hub (``intents.access``), so one evaluator decides."""
    intent_access.require_permission(principal, intent, required)


def intent_for_read(principal: Principal, intent_id: Any, *, message: str = "Intent not found") -> Intent:
    """404, then the read check: the selector-side entry for intent-scoped reads."""
    intent = intent_get(intent_id, message=message)
    require(principal, intent, Permission.READ)
    return intent


# --- lease cascade (11 §4) ------------------------------------------------------------------

def _release_leases(intent: Intent, principal_id: str, reason: str) -> int:
    """Release the scope leases (03) ``principal_id`` holds on ``intent``."""
    from intents.services.leases import lease_release_for_agent_on_intent

    return lease_release_for_agent_on_intent(intent_id=intent.pk, agent_id=principal_id, reason=reason)


def _cascade(intent: Intent, principal_ids: Iterable[str], reason: str) -> None:
    for principal_id in set(principal_ids):
        if effective_permission(principal_id, intent) < Permission.WRITE:
            _release_leases(intent, principal_id, reason)


# --- ACL reads and writes (11 §3) -------------------------------------------------------------

def acl_get(*, principal: Principal, intent_id: str) -> tuple[Intent, str, list[AclEntry]]:
    intent = intent_for_read(principal, intent_id)
    policy = AccessControl.objects.filter(intent_id=intent.pk).values_list("default_policy", flat=True).first()
    entries = list(AclEntry.objects.filter(_unexpired(timezone.now()), intent=intent).order_by("granted_at", "id"))
    return intent, policy or DefaultPolicy.OPEN, entries


def _ensure_acl(intent: Intent) -> AccessControl:
    acl, _ = AccessControl.objects.get_or_create(intent=intent)
    return acl


@transaction.atomic
def acl_set(*, principal: Principal, intent_id: str, default_policy: str, entries: list[dict]) -> tuple[Intent, str, list[AclEntry]]:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    previous = list(AclEntry.objects.filter(intent=intent).values_list("principal_id", flat=True))
    acl = _ensure_acl(intent)
    acl.default_policy = default_policy
    acl.updated_at = timezone.now()
    acl.save(update_fields=["default_policy", "updated_at"])
    AclEntry.objects.filter(intent=intent).delete()
    now = timezone.now()
    created = [
        AclEntry.objects.create(
            intent=intent,
            principal_id=e["principal_id"],
            principal_type=e.get("principal_type") or "agent",
            permission=e.get("permission") or "read",
            granted_by=e.get("granted_by") or principal.id,
            granted_at=now,
            expires_at=e.get("expires_at"),
            reason=e.get("reason"),
        )
        for e in entries
    ]
    events.record(intent, "access_granted", principal.id, {"action": "acl_set", "default_policy": default_policy})
    _cascade(intent, previous, "access_revoked")
    return intent, default_policy, created


@transaction.atomic
def acl_entry_grant(
    *, principal: Principal, intent_id: str, principal_id: str, principal_type: str = "agent",
    permission: str = "read", reason: str | None = None, expires_at: datetime | None = None,
    granted_by: str | None = None,
) -> AclEntry:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    return _grant(intent, principal_id=principal_id, principal_type=principal_type, permission=permission,
                  reason=reason, expires_at=expires_at, granted_by=granted_by or principal.id, actor=principal.id)


def _grant(intent: Intent, *, principal_id, principal_type, permission, reason, expires_at, granted_by, actor) -> AclEntry:
    _ensure_acl(intent)
    entry = AclEntry.objects.create(
        intent=intent, principal_id=principal_id, principal_type=principal_type, permission=permission,
        granted_by=granted_by, expires_at=expires_at, reason=reason,
    )
    events.record(intent, "access_granted", actor, {"principal_id": principal_id, "permission": permission, "entry_id": str(entry.pk)})
    return entry


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


@transaction.atomic
def acl_entry_revoke(*, principal: Principal, intent_id: str, entry_id: str) -> None:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    pk = _uuid(entry_id)
    entry = AclEntry.objects.filter(pk=pk, intent=intent).first() if pk else None
    if entry is None:
        raise NotFound("ACL entry not found")
    entry.delete()
    events.record(intent, "access_revoked", principal.id, {"entry_id": str(pk), "principal_id": entry.principal_id})
    _cascade(intent, [entry.principal_id], "access_revoked")


# --- access requests --------------------------------------------------------------------------

@transaction.atomic
def access_request_create(
    *, principal: Principal, intent_id: str, principal_id: str, principal_type: str = "agent",
    requested_permission: str = "write", reason: str = "", capabilities: list | None = None,
) -> AccessRequest:
    """Any authenticated caller, even without read on a closed intent (11 §3)."""
    intent = intent_lock(intent_id)
    req = AccessRequest.objects.create(
        intent=intent, principal_id=principal_id, principal_type=principal_type,
        requested_permission=requested_permission, reason=reason or "", capabilities=capabilities or [],
    )
    events.record(intent, "access_requested", principal_id, {
        "request_id": str(req.pk), "principal_id": principal_id,
        "requested_permission": requested_permission, "capabilities": req.capabilities,
    })
    return req


def access_request_list(*, principal: Principal, intent_id: str) -> list[AccessRequest]:
    intent = intent_get(intent_id)
    qs = AccessRequest.objects.filter(intent=intent).order_by("created_at")
    if effective_permission(principal.id, intent) < Permission.ADMIN and not principal.is_operator:
        qs = qs.filter(principal_id=principal.id)
    return list(qs)


def _pending_request(intent: Intent, request_id: str) -> AccessRequest:
    pk = _uuid(request_id)
    req = (
        AccessRequest.objects.select_for_update().filter(pk=pk, intent=intent, status=DecisionStatus.PENDING).first()
        if pk else None
    )
    if req is None:
        raise NotFound("Access request not found or already decided")
    return req


@transaction.atomic
def access_request_approve(
    *, principal: Principal, intent_id: str, request_id: str, decided_by: str | None = None,
    permission: str | None = None, expires_at: datetime | None = None, reason: str | None = None,
) -> AccessRequest:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    req = _pending_request(intent, request_id)
    decider = decided_by or principal.id
    granted = permission or req.requested_permission
    req.status = DecisionStatus.APPROVED
    req.decided_by = decider
    req.decided_at = timezone.now()
    req.decision_reason = reason
    req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _grant(intent, principal_id=req.principal_id, principal_type=req.principal_type, permission=granted,
           reason=f"Approved access request: {reason or ''}".strip(), expires_at=expires_at,
           granted_by=decider, actor=decider)
    events.record(intent, "access_request_approved", decider, {
        "request_id": str(req.pk), "principal_id": req.principal_id, "permission": granted,
    })
    return req


@transaction.atomic
def access_request_deny(
    *, principal: Principal, intent_id: str, request_id: str, decided_by: str | None = None, reason: str | None = None,
) -> AccessRequest:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    req = _pending_request(intent, request_id)
    decider = decided_by or principal.id
    req.status = DecisionStatus.DENIED
    req.decided_by = decider
    req.decided_at = timezone.now()
    req.decision_reason = reason
    req.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    events.record(intent, "access_request_denied", decider, {
        "request_id": str(req.pk), "principal_id": req.principal_id, "reason": reason,
    })
    return req


# --- expiry (11 §4) ---------------------------------------------------------------------------

def acl_expire_due(*, now: datetime | None = None, batch: int = 100) -> int:
    """Delete entries past ``expires_at``, one per transaction: ``access_expired`` (actor
    ``system``) and the lease cascade. Rows are claimed with ``skip_locked`` on PostgreSQL and
    re-read under the intent lock, so overlapping runs never act twice."""
    now = now or timezone.now()
    done = 0
    ids = list(AclEntry.objects.filter(expires_at__lte=now).order_by("expires_at").values_list("pk", "intent_id")[:batch])
    for entry_id, intent_id in ids:
        with transaction.atomic():
            intent = Intent.objects.select_for_update().filter(pk=intent_id).first()
            qs = AclEntry.objects.filter(pk=entry_id, expires_at__lte=now)
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            entry = qs.first()
            if intent is None or entry is None:
                continue
            entry.delete()
            events.record(intent, "access_expired", events.SYSTEM_ACTOR, {
                "entry_id": str(entry_id), "principal_id": entry.principal_id,
                "permission": entry.permission, "expires_at": _ts(entry.expires_at),
            })
            _cascade(intent, [entry.principal_id], "access_expired")
            done += 1
    return done


def _ts(value):
    return format_timestamp(value) if value else None
