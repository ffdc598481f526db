"""Scope leases (RFC-0003 leasing part, 03).

Acquisition is atomic in the database: the intent row is locked (PostgreSQL; SQLite's
IMMEDIATE transaction serialises writers), and the new lease is inserted with
``ON CONFLICT DO NOTHING`` against a partial unique constraint over slot-holding rows
(``Lease.holds_scope``): the database itself refuses a second holder of an (intent, scope)
slot, even for a writer that bypassed the lock. An expired holder that blocks the insert is
retired in the same transaction and the insert retried. "Active" is computed at read time
(``released_at IS NULL AND expires_at > now``), so a lease stops counting the moment it
expires; the beat job only announces expiry, once.

The acquire and release routes are hot (take a lease, do the work, let it go), so their
happy paths use statements compiled once per connection (``openintent_project.db.rows``)
instead of ORM querysets, whose per-query compilation
cost more than the rest of the request. Rare paths (409, expiry, cleanup) stay on the ORM."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.db import rows
from openintent_project.errors import Conflict, Forbidden, NotFound, Unprocessable

from .. import access, events
from ..access import Permission
from ..models import Intent, IntentStatus, Lease
from ..models.leases import DEFAULT_LEASE_SECONDS
from agents_registry.services import agent_may_take_work

from ..representations_leases import lease_dict
from .core import _as_uuid, governance_violation_record, governed, intent_lock

logger = logging.getLogger(__name__)

LEASE_NOT_FOUND = "Lease not found or not owned by you"
LEASE_HELD = "Lease already held for this scope"

# Reasons for which a server-side cleanup *expires* the lease instead of releasing it: agent
# death and deregistration (16, "expire every active intent lease it holds now"). Everything
# else (access_revoked / access_expired (11), fallback (10), operator) sets released_at.
EXPIRE_REASONS = frozenset({"agent_dead", "deregistered", "drain_timeout"})

DRAINING = "Agent is draining; new leases are refused"


class _UnresolvableInputs(Exception):
    def __init__(self, unresolvable: list[str]):
        super().__init__(unresolvable)
        self.unresolvable = unresolvable


def _lease_held(holder: Lease) -> Conflict:
    # The body must say "lease": the official client maps such a 409 to LeaseConflictError
    # and reads existing_lease (03, "Conflict body").
    return Conflict(LEASE_HELD, existing_lease=lease_dict(holder))


def _slot_holders(intent: Intent, scope: str, *, other_than: Lease | None = None):
    """The leases holding the (intent, scope) slot (at most one), ``other_than`` left out."""
    holders = Lease.objects.filter(intent=intent, scope=scope, holds_scope=True)
    return holders if other_than is None else holders.exclude(pk=other_than.pk)


def _retire_expired_holders(intent: Intent, scope: str, now: datetime, *, other_than: Lease | None = None) -> int:
    """An expired holder no longer counts: free its slot, in the caller's transaction
    (ARCHITECTURE, "Leases"). Returns how many were retired."""
    return _slot_holders(intent, scope, other_than=other_than).filter(expires_at__lte=now).update(holds_scope=False)


def _lease_uuid(lease_id: Any):
    pk = _as_uuid(lease_id)
    if pk is None:
        raise NotFound(LEASE_NOT_FOUND)
    return pk


def _expiry(now: datetime, duration_seconds: int) -> datetime:
    return now + timedelta(seconds=duration_seconds)


# --- acquire ------------------------------------------------------------------------------

def lease_acquire(
    *, principal: Principal, intent_id: Any, scope: str, duration_seconds: int = DEFAULT_LEASE_SECONDS
) -> Lease:
    """Acquire ``scope`` on the intent for the principal. Not re-entrant: any active lease on
    the slot, the caller's own included, is a 409 carrying ``existing_lease``.

    Check order (03): 404 → access (write) → governance ``lease`` → RFC-0024 claim inputs
    (422, violation logged) → 409 held → registered guards (16 draining)."""
    try:
        return _lease_acquire(principal=principal, intent_id=intent_id, scope=scope, duration_seconds=duration_seconds)
    except _UnresolvableInputs as error:
        # The acquire transaction has rolled back; the violation must survive (README §10).
        governance_violation_record(
            intent_id=intent_id, actor=principal.id,
            payload={"rule": "rfc0024_io_inputs", "unresolvable": error.unresolvable},
        )
        raise Unprocessable(
            {
                "error": "UnresolvableInputError",
                "rule": "io_inputs",
                "message": (
                    "RFC-0024: Cannot resolve declared input mappings at claim time — upstream "
                    "outputs are missing or dependencies are not yet complete. Unresolvable: "
                    + str(error.unresolvable)
                ),
                "unresolvable": error.unresolvable,
            }
        ) from None


@governed
def _lease_acquire(*, principal: Principal, intent_id: Any, scope: str, duration_seconds: int) -> Lease:
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    access.enforce_policy(principal, intent, "lease", scope=scope)
    unresolvable = unresolvable_claim_inputs(intent)
    if unresolvable:
        raise _UnresolvableInputs(unresolvable)
    now = timezone.now()
    lease = Lease(
        intent=intent, agent_id=principal.id, scope=scope, acquired_at=now, expires_at=_expiry(now, duration_seconds),
    )
    # The partial unique constraint ``lease_one_holder_per_scope`` refuses a second holder.
    if not rows.insert_row_unless_conflict(lease):
        # The slot is occupied: take the place of an expired holder; a live one is a 409.
        retired = _retire_expired_holders(intent, scope, now)
        if not (retired and rows.insert_row_unless_conflict(lease)):
            holder = _slot_holders(intent, scope).first()
            if holder is None:
                raise IntegrityError(f"lease insert on {intent.pk}/{scope!r} refused, yet no holder found")
            raise _lease_held(holder)
    # A draining agent finishes its work and takes no new work (16 §2). Checked after the
    # slot so that a held scope still answers 409 with the holder (03 check order); raising
    # here rolls the insert back.
    if not agent_may_take_work(principal.id):
        raise Conflict(DRAINING)
    events.record(intent, "lease_acquired", principal.id, {"scope": scope, "lease_id": str(lease.pk), "agent_id": principal.id})
    return lease


def unresolvable_claim_inputs(intent: Intent) -> list[str]:
    """RFC-0024 §3.1 claim-time check (03): every mapping in ``state._io_inputs`` must
    resolve from the intent's own state (``$trigger.k``, ``$initial_state.k``) or from a
    *completed* dependency's state (``phase.key``, the phase matched by title or through
    ``state._io_dep_title_to_name``). Returns the mappings that do not."""
    state = intent.state if isinstance(intent.state, dict) else {}
    io_inputs = state.get("_io_inputs") or {}
    if not isinstance(io_inputs, dict) or not io_inputs:
        return []
    title_to_name = state.get("_io_dep_title_to_name") or {}
    if not isinstance(title_to_name, dict):
        title_to_name = {}
    upstream: dict[str, dict] = {}
    dep_ids = [pk for pk in (_as_uuid(d) for d in intent.depends_on) if pk]
    for dep in Intent.objects.filter(pk__in=dep_ids, status=IntentStatus.COMPLETED):
        dep_state = dep.state if isinstance(dep.state, dict) else {}
        upstream[str(title_to_name.get(dep.title, dep.title))] = dep_state
        upstream[dep.title] = dep_state
    unresolvable: list[str] = []
    for local_key, mapping in io_inputs.items():
        if not isinstance(mapping, str):
            unresolvable.append(f"{local_key}: {mapping!r}")
        elif mapping.startswith("$trigger.") or mapping.startswith("$initial_state."):
            if mapping.split(".", 1)[1] not in state:
                unresolvable.append(mapping)
        else:
            phase, dot, key = mapping.partition(".")
            if not dot or key not in upstream.get(phase, {}):
                unresolvable.append(mapping)
    return unresolvable


# --- renew and release --------------------------------------------------------------------

@transaction.atomic
def lease_renew(
    *, principal: Principal, intent_id: Any, lease_id: Any, duration_seconds: int = DEFAULT_LEASE_SECONDS
) -> Lease:
    """Set ``expires_at = now + duration_seconds``. The lease must be on the path intent,
    owned by the principal and not released (else 404). An expired lease is revived when its
    scope is free, else 409 with the current holder (03, FIX)."""
    intent = intent_lock(intent_id, message=LEASE_NOT_FOUND)
    access.require_permission(principal, intent, Permission.WRITE)
    lease = _own_lease(intent, principal, lease_id)
    if lease.released_at is not None:
        raise NotFound(LEASE_NOT_FOUND)
    now = timezone.now()
    if lease.holds_scope and lease.expires_at > now:
        # The usual renewal of a live lease: it keeps its slot, only the expiry moves.
        lease.expires_at = _expiry(now, duration_seconds)
        rows.update_row(lease, ("expires_at",))
    else:
        _revive(intent, lease, expires_at=_expiry(now, duration_seconds), now=now)
    events.record(
        intent, "lease_renewed", principal.id,
        {"lease_id": str(lease.pk), "duration_seconds": duration_seconds, "scope": lease.scope},
    )
    return lease


def _revive(intent: Intent, lease: Lease, *, expires_at: datetime, now: datetime) -> None:
    """Give an expired (or retired) lease its slot back with a new expiry, unless someone
    else holds the scope now (409). Expired holders are retired first, as in acquire."""
    _retire_expired_holders(intent, lease.scope, now, other_than=lease)
    holder = _slot_holders(intent, lease.scope, other_than=lease).first()
    if holder is not None:
        raise _lease_held(holder)
    lease.expires_at = expires_at
    lease.holds_scope = True
    lease.expiry_announced_at = None  # a later expiry is announced again (03)
    try:
        with transaction.atomic():
            lease.save(update_fields=["expires_at", "holds_scope", "expiry_announced_at"])
    except IntegrityError:
        holder = _slot_holders(intent, lease.scope, other_than=lease).first()
        if holder is None:
            raise
        raise _lease_held(holder) from None


def _own_lease(intent: Intent, principal: Principal, lease_id: Any) -> Lease:
    """The lease ``lease_id`` if it is on ``intent`` and owned by the principal, else 404
    (someone else's lease is not found, 03). One primary-key read; call under the intent's
    lock, which every lease write takes, so the row is current until the transaction ends."""
    lease = rows.get_row(Lease, _lease_uuid(lease_id))
    if lease is None or lease.intent_id != intent.pk or lease.agent_id != principal.id:
        raise NotFound(LEASE_NOT_FOUND)
    return lease


@transaction.atomic
def lease_release(*, principal: Principal, intent_id: Any, lease_id: Any) -> Lease:
    """Release a lease the principal owns on the path intent (anyone else: 404, 03).
    Idempotent: releasing a released lease again changes nothing and logs nothing."""
    intent = intent_lock(intent_id, message=LEASE_NOT_FOUND)
    access.require_permission(principal, intent, Permission.WRITE)
    lease = _own_lease(intent, principal, lease_id)
    _release(intent, lease, actor=principal.id, reason=None)
    return lease


def _release(intent: Intent, lease: Lease, *, actor: str, reason: str | None) -> bool:
    """Set ``released_at``, then log ``lease_released``. Returns False when the lease was
    already released. The caller holds the intent's lock and read ``lease`` under it: every
    lease write takes that lock first, so the row cannot change between read and update."""
    if lease.released_at is not None:
        return False
    lease.released_at = timezone.now()
    lease.holds_scope = False
    lease.release_reason = reason or "released"
    rows.update_row(lease, ("released_at", "holds_scope", "release_reason"))
    payload: dict[str, Any] = {"lease_id": str(lease.pk), "scope": lease.scope, "agent_id": lease.agent_id}
    if reason:
        payload["reason"] = reason
    events.record(intent, "lease_released", actor, payload)
    return True


def _expire_now(intent: Intent, lease: Lease, *, reason: str) -> bool:
    """16: expire (``expires_at = now``) and mark the expiry announced, logging the reason."""
    now = timezone.now()
    claimed = Lease.objects.filter(pk=lease.pk, released_at__isnull=True, expires_at__gt=now).update(
        expires_at=now, holds_scope=False, expiry_announced_at=now, release_reason=reason
    )
    if not claimed:
        return False
    events.record(
        intent, "lease_released", events.SYSTEM_ACTOR,
        {"lease_id": str(lease.pk), "scope": lease.scope, "agent_id": lease.agent_id, "reason": reason},
    )
    return True


def leases_release_for_agent_on_intent(intent: Intent, *, agent_id: str, reason: str) -> int:
    """Server-side cleanup of one agent's active leases on one intent, actor ``system``.
    Intent lock held by the caller. Returns how many leases were let go."""
    now = timezone.now()
    active = list(Lease.objects.filter(intent=intent, agent_id=agent_id, released_at__isnull=True, expires_at__gt=now))
    done = 0
    for lease in active:
        if reason in EXPIRE_REASONS:
            done += _expire_now(intent, lease, reason=reason)
        else:
            done += _release(intent, lease, actor=events.SYSTEM_ACTOR, reason=reason)
    return done


@transaction.atomic
def lease_release_for_agent_on_intent(*, intent_id: Any, agent_id: str, reason: str) -> int:
    """As ``lease_release_all_for_agent`` but on one intent only (11's ACL cascade releases
    the leases of a principal who lost write on *that* intent). Unknown intent: 0."""
    try:
        intent = intent_lock(intent_id)
    except NotFound:
        return 0
    return leases_release_for_agent_on_intent(intent, agent_id=agent_id, reason=reason)


def lease_release_all_for_agent(*, agent_id: str, reason: str) -> int:
    """Let go of every active lease ``agent_id`` holds, on every intent, logging
    ``lease_released`` ``{lease_id, scope, agent_id, reason}`` with actor ``system``.

    Contract for other apps (BRIEF): agent death/deregistration (16) pass ``agent_dead`` /
    ``deregistered`` — those leases are *expired* now and their expiry marked announced, as
    16 says; any other reason (``access_revoked``, ``access_expired``, …) releases them.
    One transaction per intent; safe to run twice. Returns the number of leases."""
    now = timezone.now()
    intent_ids = (
        Lease.objects.filter(agent_id=agent_id, released_at__isnull=True, expires_at__gt=now)
        .values_list("intent_id", flat=True).distinct()
    )
    total = 0
    for intent_id in list(intent_ids):
        with transaction.atomic():
            try:
                intent = intent_lock(intent_id)
            except NotFound:
                continue
            total += leases_release_for_agent_on_intent(intent, agent_id=agent_id, reason=reason)
    return total


@transaction.atomic
def lease_force_release(*, principal: Principal, lease_id: Any, reason: str = "operator") -> bool:
    """Operator release (admin action): the protocol has no revoke route, so this is
    server-side only and needs an operator principal. Returns False if already released."""
    if not principal.is_operator:
        raise Forbidden("Only an operator may release another agent's lease")
    found = Lease.objects.filter(pk=_lease_uuid(lease_id)).values_list("intent_id", flat=True).first()
    if found is None:
        raise NotFound("Lease not found")
    intent = intent_lock(found)
    lease = Lease.objects.get(pk=_lease_uuid(lease_id))
    return _release(intent, lease, actor=principal.id, reason=reason)


# --- expiry (Celery beat) ---------------------------------------------------------------

def lease_expire_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Announce every lease that expired unreleased and unannounced: ``lease_released``
    ``{lease_id, scope, agent_id, reason:"expired"}``, actor ``system``, once per expiry.
    Each lease is claimed with a conditional update under its intent's lock, so two runs
    (or two beats) never announce one expiry twice. Returns the number announced."""
    now = now or timezone.now()
    due = list(
        Lease.objects.filter(released_at__isnull=True, expiry_announced_at__isnull=True, expires_at__lte=now)
        .order_by("expires_at").values_list("pk", "intent_id")[:batch]
    )
    announced = 0
    for lease_id, intent_id in due:
        announced += lease_announce_expiry(lease_id=lease_id, intent_id=intent_id)
    return announced


@transaction.atomic
def lease_announce_expiry(*, lease_id: Any, intent_id: Any) -> int:
    try:
        intent = intent_lock(intent_id)
    except NotFound:
        return 0
    now = timezone.now()
    claimed = Lease.objects.filter(
        pk=lease_id, released_at__isnull=True, expiry_announced_at__isnull=True, expires_at__lte=now
    ).update(expiry_announced_at=now, holds_scope=False)
    if not claimed:
        return 0
    lease = Lease.objects.get(pk=lease_id)
    events.record(
        intent, "lease_released", events.SYSTEM_ACTOR,
        {"lease_id": str(lease.pk), "scope": lease.scope, "agent_id": lease.agent_id, "reason": "expired"},
    )
    logger.info("lease %s on intent %s (scope %r, agent %s) expired", lease.pk, intent.pk, lease.scope, lease.agent_id)
    return 1


# --- reads ------------------------------------------------------------------------------------

def lease_list(*, principal: Principal, intent_id: Any, status: str | None = None) -> list[Lease]:
    """Every lease ever taken on the intent, oldest first; an unknown intent has none (03)."""
    pk = _as_uuid(intent_id)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is None:
        return []
    access.require_permission(principal, intent, Permission.READ)
    leases = list(Lease.objects.filter(intent=intent).order_by("acquired_at", "id"))
    if status:
        now = timezone.now()
        leases = [lease for lease in leases if lease.status_at(now) == status]
    return leases
