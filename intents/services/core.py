"""Every write to intents, their graph, events and assignments (RFC-0001/0002/0025).

Services take the principal and plain arguments, run in one transaction with the event they
log, and raise domain errors from ``openintent_project.errors``. Versioned writes lock the
intent row and re-check ``version`` under the lock: two racing writers with the same
``If-Match`` give one success and one ``VersionConflict``."""

from __future__ import annotations

import functools
import uuid
from typing import Any, Callable, Iterable, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.db import rows
from openintent_project.errors import (
    BadRequest,
    Conflict,
    GovernanceViolation,
    InvalidInput,
    NotFound,
    Unprocessable,
    VersionConflict,
)

from .. import access, events
from ..access import Permission
from ..llm import validate_event_payload
from ..models import Assignment, Dependency, Intent, IntentStatus
from ..patching import apply_patches

INTENT_NOT_FOUND = "Intent not found"
F = TypeVar("F", bound=Callable[..., Any])


def _in_application_transaction() -> bool:
    """True inside an atomic block opened by application code. Blocks opened by Django's
    test cases (which wrap each test) do not count, the same exception Django makes for
    ``atomic(durable=True)``."""
    blocks = transaction.get_connection().atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


def governed(func: F) -> F:
    """``transaction.atomic`` for writes that pass ``access.enforce_policy``: when the policy
    rejects the write, the transaction rolls back and then the ``governance.violation``
    event is written in a transaction of its own, so it survives the 403 (README §10)."""
    atomic_func = transaction.atomic(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # Only the outermost transaction's rollback is final: a nested call leaves the
        # event to whoever owns that transaction (the ``recorded`` flag says it is pending).
        outermost = not _in_application_transaction()
        try:
            return atomic_func(*args, **kwargs)
        except GovernanceViolation as violation:
            if outermost and violation.violation is not None and not violation.recorded:
                governance_violation_record(
                    intent_id=violation.intent_id, actor=violation.actor, payload=violation.violation
                )
                violation.recorded = True
            raise

    return wrapper  # type: ignore[return-value]


# --- access helpers -------------------------------------------------------------------

def _as_uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def intent_get(
    intent_id: Any, *, message: str = INTENT_NOT_FOUND, for_update: bool = False, only: tuple[str, ...] | None = None,
) -> Intent:
    """The intent, or ``NotFound(message)`` (a malformed id is simply unknown). ``only``: read
    just those fields (``rows.get_row``)."""
    pk = _as_uuid(intent_id)
    intent = rows.get_row(Intent, pk, for_update=for_update, only=only) if pk else None
    if intent is None:
        raise NotFound(message)
    return intent


def intent_lock(intent_id: Any, *, message: str = INTENT_NOT_FOUND, only: tuple[str, ...] | None = None) -> Intent:
    """Read the intent under a row lock. Must be called inside ``transaction.atomic()``."""
    return intent_get(intent_id, message=message, for_update=True, only=only)


def _check_version(intent: Intent, expected_version: int) -> None:
    if intent.version != expected_version:
        raise VersionConflict(current_version=intent.version)


def _bump(intent: Intent, *fields: str) -> tuple[str, ...]:
    """Advance the version and ``updated_at`` in memory (lock held by the caller) and return
    the fields to save: the caller passes them to ``events.record``, which writes them in the
    same UPDATE as the event's sequence."""
    intent.version += 1
    intent.updated_at = timezone.now()
    return (*fields, "version", "updated_at")


def _check_status(status: str, loc=("body", "status")) -> None:
    if status not in IntentStatus.values:
        raise InvalidInput.at(
            loc,
            f"Input should be one of: {', '.join(IntentStatus.values)}",
            type="enum",
            input=status,
        )


# --- create ---------------------------------------------------------------------------

def _ordered_ids(depends_on: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(str(dep) for dep in depends_on))


def _store_edges(intent: Intent) -> None:
    """The Dependency rows for a new intent's ``depends_on_ids``."""
    if intent.depends_on_ids:
        Dependency.objects.bulk_create(
            [Dependency(intent=intent, depends_on_id=dep, position=i) for i, dep in enumerate(intent.depends_on_ids)]
        )


@transaction.atomic
def intent_create(
    *,
    principal: Principal,
    title: str,
    description: str = "",
    created_by: str | None = None,
    parent_id: str | None = None,
    depends_on: Iterable[str] = (),
    constraints: dict | None = None,
    state: dict | None = None,
    status: str = IntentStatus.DRAFT,
    governance_policy: dict | None = None,
) -> Intent:
    """Create an intent and log ``intent_created``. A new intent cannot close a dependency
    cycle (nothing depends on it yet), so ``depends_on`` is stored unchecked, as in REF."""
    _check_status(status)
    access.validate_policy(governance_policy)
    parent = intent_get(parent_id, message="Parent intent not found") if parent_id else None
    now = timezone.now()
    intent = Intent(
        title=title,
        description=description,
        created_by=created_by or principal.id,
        parent=parent,
        constraints=constraints or {},
        state=state or {},
        status=status,
        governance_policy=governance_policy,
        depends_on_ids=_ordered_ids(depends_on),
        created_at=now,
        updated_at=now,
    )
    rows.insert_row(intent)
    _store_edges(intent)
    payload: dict[str, Any] = {"title": title}
    if governance_policy is not None:
        payload["governance_policy"] = governance_policy
    events.record(intent, "intent_created", intent.created_by, payload)
    return intent


@transaction.atomic
def child_intent_create(
    *,
    principal: Principal,
    parent_id: str,
    title: str,
    description: str = "",
    depends_on: Iterable[str] = (),
    constraints: dict | None = None,
    state: dict | None = None,
) -> Intent:
    """Create a child (02): always ``draft``, created by the principal; the parent is untouched."""
    parent = intent_get(parent_id, message="Parent intent not found")
    access.require_permission(principal, parent, Permission.ADMIN)
    now = timezone.now()
    child = Intent.objects.create(
        title=title,
        description=description,
        created_by=principal.id,
        parent=parent,
        constraints=constraints or {},
        state=state or {},
        depends_on_ids=_ordered_ids(depends_on),
        created_at=now,
        updated_at=now,
    )
    _store_edges(child)
    events.record(child, "intent_created", principal.id, {"parent_id": str(parent.pk), "depends_on": child.depends_on})
    return child


# --- state and status ------------------------------------------------------------------

@governed
def intent_patch_state(
    *, principal: Principal, intent_id: str, expected_version: int, patches: list[dict]
) -> Intent:
    """Apply ``patches`` (set/append/remove) to the intent's state. Raises ``NotFound``,
    ``Forbidden``, ``GovernanceViolation``, ``VersionConflict`` or ``InvalidInput`` (bad op
    or path; nothing is written)."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    access.enforce_policy(principal, intent, "state")
    _check_version(intent, expected_version)
    intent.state = apply_patches(intent.state, patches)
    changed = _bump(intent, "state")
    applied = [{"op": p["op"], "path": p["path"], "value": p.get("value")} for p in patches]
    events.record(intent, "state_patched", principal.id, {"patches": applied, "version": intent.version}, save_fields=changed)
    return intent


@governed
def intent_set_status(
    *,
    principal: Principal,
    intent_id: str,
    expected_version: int,
    status: str,
    reason: str | None = None,
) -> Intent:
    """Set the status. The protocol enforces no transition table (01), only the value set."""
    intent = intent_lock(intent_id)
    _check_status(status)
    access.require_permission(principal, intent, Permission.ADMIN)
    access.enforce_policy(principal, intent, "status", status=status, reason=reason)
    _check_version(intent, expected_version)
    previous = intent.status
    intent.status = status
    changed = _bump(intent, "status")
    payload: dict[str, Any] = {"status": status, "version": intent.version, "previous_status": previous}
    if reason:
        payload["reason"] = reason
    events.record(intent, "status_changed", principal.id, payload, save_fields=changed)
    return intent


# --- events -----------------------------------------------------------------------------

@transaction.atomic
def event_append(
    *,
    principal: Principal,
    intent_id: str,
    event_type: str,
    actor: str,
    payload: dict | None = None,
    trace_id: str | None = None,
    parent_event_id: str | None = None,
):
    """Append a client-written event. No version change and no governance check (01)."""
    validate_event_payload(event_type, payload)  # RFC-0008 shapes (08); other types are free-form
    # Only what appending reads: the ACL's owner check and the log's counter. The intent's
    # JSON fields (state, constraints, policy) are not decoded for a comment.
    intent = intent_lock(intent_id, only=("created_by", "event_sequence"))
    access.require_permission(principal, intent, Permission.WRITE)
    return events.record(
        intent, event_type, actor, payload or {}, trace_id=trace_id, parent_event_id=parent_event_id
    )


# --- assignments ------------------------------------------------------------------------

@governed
def agent_assign(*, principal: Principal, intent_id: str, agent_id: str, role: str = "worker") -> Assignment:
    """Assign an agent. One row per (intent, agent); a repeat updates the role and still logs
    ``agent_assigned``, so a listening agent is re-notified (01, FIX)."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.ADMIN)
    access.enforce_policy(principal, intent, "assign", agent_id=agent_id)
    assignment = Assignment.objects.filter(intent=intent, agent_id=agent_id).first()
    if assignment is None:
        assignment = Assignment.objects.create(intent=intent, agent_id=agent_id, role=role)
    elif assignment.role != role:
        assignment.role = role
        assignment.save(update_fields=["role"])
    events.record(intent, "agent_assigned", principal.id, {"agent_id": agent_id, "role": role})
    return assignment


@transaction.atomic
def agent_unassign(*, principal: Principal, intent_id: str, agent_id: str) -> None:
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.ADMIN)
    deleted, _ = Assignment.objects.filter(intent=intent, agent_id=agent_id).delete()
    if not deleted:
        raise NotFound("Agent assignment not found")
    events.record(intent, "agent_unassigned", principal.id, {"agent_id": agent_id})


# --- dependencies -------------------------------------------------------------------------

def _serialize_dependency_changes() -> None:
    """Cycle checks read other intents; two concurrent additions (A→B, B→A) could each pass
    alone. One global lock, held to commit, serialises them (02, "Concurrency"). SQLite's
    IMMEDIATE transactions already serialise every writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x0D1_0002])


def _reaches(start: Iterable[str], target: str) -> bool:
    """Follow ``depends_on`` from ``start``, level by level; True if ``target`` is reached."""
    seen: set[str] = set()
    frontier = {s for s in start}
    while frontier:
        if target in frontier:
            return True
        seen |= frontier
        ids = [pk for pk in (_as_uuid(f) for f in frontier) if pk]
        frontier = set(
            Dependency.objects.filter(intent_id__in=ids).values_list("depends_on_id", flat=True)
        ) - seen
    return False


@transaction.atomic
def dependency_add(
    *, principal: Principal, intent_id: str, expected_version: int, dependency_id: str
) -> Intent:
    _serialize_dependency_changes()
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    intent_get(dependency_id, message="Dependency intent not found")
    _check_version(intent, expected_version)
    current = list(intent.depends_on)
    if dependency_id in current:
        raise BadRequest("Dependency already exists")
    if _reaches([*current, dependency_id], str(intent.pk)):
        raise BadRequest(f"Dependency would create cycle: {intent.pk} -> {intent.pk}")
    Dependency.objects.create(intent=intent, depends_on_id=dependency_id, position=_next_position(intent))
    intent.depends_on_ids = [*current, dependency_id]
    changed = _bump(intent, "depends_on_ids")
    events.record(intent, "dependency_added", principal.id, {"dependency_id": dependency_id}, save_fields=changed)
    return intent


def _next_position(intent: Intent) -> int:
    last = intent.dependency_links.order_by("-position").values_list("position", flat=True).first()
    return 0 if last is None else last + 1


@transaction.atomic
def dependency_remove(
    *, principal: Principal, intent_id: str, expected_version: int, dependency_id: str
) -> Intent:
    """Remove an edge. Removing one that is not listed still succeeds (REF, 02)."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    _check_version(intent, expected_version)
    Dependency.objects.filter(intent=intent, depends_on_id=dependency_id).delete()
    intent.depends_on_ids = [dep for dep in intent.depends_on_ids if dep != dependency_id]
    changed = _bump(intent, "depends_on_ids")
    events.record(intent, "dependency_removed", principal.id, {"dependency_id": dependency_id}, save_fields=changed)
    return intent


# --- RFC-0025: suspension respond ------------------------------------------------------------

RESPONSE_TYPES = ("choice", "confirm", "text", "form")


@transaction.atomic
def suspension_respond(
    *,
    principal: Principal,
    intent_id: str,
    suspension_id: str,
    value: Any = None,
    responded_by: str | None = None,
    metadata: dict | None = None,
) -> dict:
    """Record a human's answer to a suspended intent and resume it (01, RFC-0025).
    State write and status change commit together; version +2 as in REF."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    if intent.status != IntentStatus.SUSPENDED_AWAITING_INPUT:
        raise Conflict(f"Intent is not suspended (status={intent.status})")
    suspension = dict(intent.state.get("_suspension") or {})
    expected_id = suspension.get("id")
    if expected_id and expected_id != suspension_id:
        raise Conflict(f"suspension_id mismatch: expected {expected_id}, got {suspension_id}")
    response_type = suspension.get("response_type") or "choice"
    if response_type not in RESPONSE_TYPES:
        raise BadRequest(f"Unknown response_type '{response_type}'")
    choices = suspension.get("choices") or []
    matched = _match_choice(response_type, choices, value)

    responder = responded_by or principal.id
    now = timezone.now()
    responded_at = format_timestamp(now)
    suspension.update(
        {"response": value, "responded_by": responder, "responded_at": responded_at, "resolution": "responded"}
    )
    if metadata is not None:
        suspension["metadata"] = metadata
    intent.state = {**intent.state, "_suspension": suspension}
    intent.status = IntentStatus.ACTIVE
    intent.version += 2
    intent.updated_at = now
    intent.save(update_fields=["state", "status", "version", "updated_at"])
    payload = {
        "intent_id": str(intent.pk),
        "suspension_id": suspension_id,
        "value": value,
        "responded_by": responder,
        "responded_at": responded_at,
    }
    events.record(intent, "intent.resumed", responder, payload)
    result = {
        "intent_id": str(intent.pk),
        "suspension_id": suspension_id,
        "resolution": "responded",
        "value": value,
        "responded_by": responder,
        "responded_at": responded_at,
    }
    if matched is not None:
        result["choice_label"] = matched.get("label", "")
        result["choice_description"] = matched.get("description", "")
    return result


def _match_choice(response_type: str, choices: list, value: Any) -> dict | None:
    if response_type not in ("choice", "confirm"):
        return None
    if response_type == "confirm" and not choices:
        choices = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
    if not choices:
        return None
    for choice in choices:
        if isinstance(choice, dict) and choice.get("value") == value:
            return choice
    raise Unprocessable(
        {
            "error": "invalid_choice",
            "message": f"Invalid choice {value!r}; expected one of the listed choices",
            "valid_choices": [
                {"value": c.get("value"), "label": c.get("label", str(c.get("value", "")).title())}
                for c in choices
                if isinstance(c, dict)
            ],
        }
    )


def intent_exists(intent_id: Any) -> bool:
    pk = _as_uuid(intent_id)
    return bool(pk) and Intent.objects.filter(pk=pk).exists()



def governance_violation_record(*, intent_id: Any, actor: str | None, payload: dict) -> None:
    """Log ``governance.violation`` in a transaction of its own. Called after the rejected
    request's transaction rolled back, so the event survives the 403 (README §10)."""
    with transaction.atomic():
        pk = _as_uuid(intent_id)
        intent = Intent.objects.select_for_update().filter(pk=pk).first() if pk else None
        if intent is not None:
            events.record(intent, "governance.violation", actor or events.SYSTEM_ACTOR, payload)
