from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.db import rows
from openintent_project.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ProtocolError,
    VersionConflict,
)

from .models import LIVE_STATUSES, AgentRecord, AgentStatus, ApiKey, SweepState
from .selectors import agent_active_lease_counts, agent_lease_intent_ids
from .signals import agent_event



KEY_PREFIX = "oi_"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@dataclass(frozen=True)
class AuthenticatedKey:
    principal: str
    is_operator: bool


def api_key_create(*, name: str, principal: str = "", is_operator: bool = False) -> tuple[ApiKey, str]:
    """Create a key and return it with the raw key, which is never stored and never shown again."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        name=name,
        principal=principal,
        is_operator=is_operator,
        prefix=raw_key[: len(KEY_PREFIX) + 6],
        digest=_digest(raw_key),
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke a key. Returns False when it was already revoked (idempotent)."""
    return bool(
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def api_key_authenticate(raw_key: str) -> AuthenticatedKey | None:
    if not raw_key.startswith(KEY_PREFIX):
        return None
    row = (
        ApiKey.objects.filter(digest=_digest(raw_key), revoked_at__isnull=True)
        .values_list("principal", "prefix", "is_operator")
        .first()
    )
    if row is None:
        return None
    principal, prefix, is_operator = row
    return AuthenticatedKey(principal=principal or f"key:{prefix}", is_operator=is_operator)


# ==========================================================================================
# RFC-0016 agent lifecycle (protocol 16)
# ==========================================================================================

logger = logging.getLogger(__name__)

AGENT_NOT_FOUND = "Agent not found"
SETTABLE_STATUSES = {AgentStatus.ACTIVE, AgentStatus.DRAINING, AgentStatus.DEREGISTERED}
ALL_STATUSES = {"registering", *AgentStatus.values}


class Gone(ProtocolError):
    status_code = 410


def require_may_act_for(principal: Principal, agent_id: str) -> None:
    """README §2 "Acting for an agent": checked before any lookup."""
    if not principal.may_act_for(agent_id):
        raise Forbidden(f"Principal may not act for agent '{agent_id}'")


def heartbeat_config_normalize(config: dict | None) -> dict:
    """Fill the defaults of 16 §2 and check unhealthy ≥ 2×interval, dead ≥ 2×unhealthy."""
    config = dict(config or {})
    loc = ("body", "heartbeat_config")

    def number(name: str, default: Any) -> int:
        value = config.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value <= 0:
            raise InvalidInput.at((*loc, name), "Input should be a positive integer", type="int_type", input=value)
        return int(value)

    interval = number("interval_seconds", settings.OPENINTENT_HEARTBEAT_INTERVAL_SECONDS)
    unhealthy = number("unhealthy_after_seconds", settings.OPENINTENT_HEARTBEAT_UNHEALTHY_AFTER_SECONDS or 3 * interval)
    dead = number("dead_after_seconds", settings.OPENINTENT_HEARTBEAT_DEAD_AFTER_SECONDS or 10 * interval)
    if unhealthy < 2 * interval:
        raise InvalidInput.at((*loc, "unhealthy_after_seconds"), "unhealthy_after_seconds must be at least 2 × interval_seconds", input=unhealthy)
    if dead < 2 * unhealthy:
        raise InvalidInput.at((*loc, "dead_after_seconds"), "dead_after_seconds must be at least 2 × unhealthy_after_seconds", input=dead)
    config.update(interval_seconds=interval, unhealthy_after_seconds=unhealthy, dead_after_seconds=dead)
    return config


def agent_get(agent_id: str) -> AgentRecord:
    record = AgentRecord.objects.filter(pk=agent_id).first()
    if record is None:
        raise NotFound(AGENT_NOT_FOUND)
    return record


def _agent_lock(agent_id: str) -> AgentRecord:
    record = AgentRecord.objects.select_for_update().filter(pk=agent_id).first()
    if record is None:
        raise NotFound(AGENT_NOT_FOUND)
    return record


def _agent_intent_ids(agent_id: str) -> list:
    """Intents whose log receives this agent's lifecycle events (16 §3): not completed or
    abandoned, where the agent is assigned, runs a task, or holds an active lease."""
    from intents.models import Assignment, Intent, Task

    ids = set(Assignment.objects.filter(agent_id=agent_id).values_list("intent_id", flat=True))
    ids |= set(Task.objects.filter(assigned_agent=agent_id, status__in=("claimed", "running", "blocked")).values_list("intent_id", flat=True))
    ids |= set(agent_lease_intent_ids(agent_id))
    return list(
        Intent.objects.filter(pk__in=ids).exclude(status__in=("completed", "abandoned")).order_by("pk").values_list("pk", flat=True)
    )


def _emit(record: AgentRecord, event_type: str, payload: dict, actor: str) -> None:
    """Log ``event_type`` on every intent the agent works on, then notify the agents stream."""
    from intents import events
    from intents.services import intent_lock

    for intent_id in _agent_intent_ids(record.agent_id):
        events.record(intent_lock(intent_id), event_type, actor, payload)
    agent_id = record.agent_id
    transaction.on_commit(
        lambda: agent_event.send(sender=AgentRecord, agent_id=agent_id, event_type=event_type, payload=payload, actor=actor)
    )


def _transition(record: AgentRecord, new_status: str, reason: str, actor: str, *, fields: tuple = ()) -> None:
    previous = record.status
    record.status = new_status
    record.version += 1
    record.save(update_fields=["status", "version", *fields])
    _emit(record, "agent.lifecycle", {"agent_id": record.agent_id, "previous_status": previous, "new_status": new_status, "reason": reason}, actor)
    if previous != new_status:
        _emit(record, "agent.status_changed", {"agent_id": record.agent_id, "from_status": previous, "to_status": new_status}, actor)


@transaction.atomic
def agent_register(
    *,
    principal: Principal,
    agent_id: str,
    name: str | None = None,
    role_id: str | None = None,
    capabilities: list[str] | None = None,
    capacity: dict | None = None,
    endpoint: str | None = None,
    heartbeat_config: dict | None = None,
    metadata: dict | None = None,
    drain_timeout_seconds: int | None = None,
) -> AgentRecord:
    """Register, or re-activate a dead/deregistered record in place (16 §2). A live record
    answers 409, never a 500."""
    require_may_act_for(principal, agent_id)
    config = heartbeat_config_normalize(heartbeat_config)
    for field in ("max_concurrent_tasks", "current_load"):
        value = (capacity or {}).get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput.at(("body", "capacity", field), "Input should be a non-negative integer", type="int_type", input=value)
    now = timezone.now()
    fields = dict(
        name=name, role_id=role_id, capabilities=list(capabilities or []), capacity=capacity,
        endpoint=endpoint, heartbeat_config=config, metadata=metadata or {},
        drain_timeout_seconds=drain_timeout_seconds, registered_at=now, last_heartbeat_at=now,
        drain_started_at=None, pending_drain_command=None,
    )
    record = AgentRecord.objects.select_for_update().filter(pk=agent_id).first()
    if record is not None:
        if record.status in LIVE_STATUSES:
            raise Conflict("Agent already registered and alive")
        for key, value in fields.items():
            setattr(record, key, value)
        _transition(record, AgentStatus.ACTIVE, "reregistered", principal.id, fields=tuple(fields))
        return record
    try:
        with transaction.atomic():
            record = AgentRecord.objects.create(agent_id=agent_id, status=AgentStatus.ACTIVE, **fields)
    except IntegrityError:
        raise Conflict("Agent already registered and alive") from None
    _emit(record, "agent.registered", {"agent_id": agent_id, "role_id": role_id, "capabilities": record.capabilities}, principal.id)
    _emit(record, "agent.lifecycle", {"agent_id": agent_id, "previous_status": None, "new_status": "active", "reason": "registered"}, principal.id)
    return record


def _start_drain(record: AgentRecord, principal: Principal, *, drain_timeout_seconds: int | None, reason: str | None) -> None:
    timeout = drain_timeout_seconds or record.drain_timeout_seconds or settings.OPENINTENT_DRAIN_TIMEOUT_SECONDS
    record.drain_started_at = timezone.now()
    record.drain_timeout_seconds = timeout
    record.pending_drain_command = (
        None if principal.id == record.agent_id
        else {"command": "drain", "reason": reason, "drain_timeout_seconds": timeout}
    )
    _transition(record, AgentStatus.DRAINING, "drain_initiated", principal.id,
                fields=("drain_started_at", "drain_timeout_seconds", "pending_drain_command"))


@transaction.atomic
def agent_heartbeat(
    *,
    principal: Principal,
    agent_id: str,
    status: str = "active",
    current_load: int = 0,
    tasks_in_progress: list[str] | None = None,
    client_timestamp=None,
) -> dict:
    require_may_act_for(principal, agent_id)
    record = _agent_lock(agent_id)
    if record.status in (AgentStatus.DEAD, AgentStatus.DEREGISTERED):
        raise Gone(f"Agent is {record.status}; register again")
    now = timezone.now()
    record.last_heartbeat_at = now
    record.capacity = {**(record.capacity or {}), "current_load": current_load, "tasks_in_progress": list(tasks_in_progress or [])}
    commands = []
    if record.pending_drain_command:
        commands.append(record.pending_drain_command)
        record.pending_drain_command = None
    record.save(update_fields=["last_heartbeat_at", "capacity", "pending_drain_command"])
    if client_timestamp is not None:
        drift = abs((now - client_timestamp).total_seconds())
        if drift > 2 * record.interval_seconds:
            logger.warning("agent %s heartbeat clock drift of %.1f s", agent_id, drift)
    if record.status == AgentStatus.UNHEALTHY:
        _transition(record, AgentStatus.ACTIVE, "heartbeat_resumed", principal.id)
    if status == "draining" and record.status == AgentStatus.ACTIVE:
        _start_drain(record, principal, drain_timeout_seconds=None, reason=None)
        record.pending_drain_command = None
        record.save(update_fields=["pending_drain_command"])
    return {
        "status": "ok",
        "acknowledged": True,
        "agent_id": record.agent_id,
        "agent_status": record.status,
        "server_timestamp": format_timestamp(now),
        "next_heartbeat_at": format_timestamp(now + timedelta(seconds=record.interval_seconds)),
        "pending_commands": commands,
    }


@transaction.atomic
def agent_set_status(
    *,
    principal: Principal,
    agent_id: str,
    status: str,
    expected_version: int | None = None,
    drain_timeout_seconds: int | None = None,
    reason: str | None = None,
) -> AgentRecord:
    """PATCH …/status (16 §2): clients set only active (cancel a drain), draining, deregistered."""
    require_may_act_for(principal, agent_id)
    if status not in ALL_STATUSES:
        raise InvalidInput.at(("body", "status"), f"Input should be one of: {', '.join(sorted(SETTABLE_STATUSES))}", type="enum", input=status)
    record = _agent_lock(agent_id)
    if expected_version is not None and expected_version != record.version:
        raise VersionConflict(current_version=record.version)
    current = record.status
    if status == current and status in SETTABLE_STATUSES:
        return record
    if status not in SETTABLE_STATUSES or current in (AgentStatus.DEAD, AgentStatus.DEREGISTERED):
        raise Conflict(f"Invalid agent status change '{current}' -> '{status}'")
    if status == AgentStatus.DRAINING:
        if current not in (AgentStatus.ACTIVE, AgentStatus.UNHEALTHY):
            raise Conflict(f"Invalid agent status change '{current}' -> '{status}'")
        _start_drain(record, principal, drain_timeout_seconds=drain_timeout_seconds, reason=reason)
    elif status == AgentStatus.ACTIVE:
        if current != AgentStatus.DRAINING:
            raise Conflict(f"Invalid agent status change '{current}' -> '{status}'")
        record.drain_started_at = None
        record.pending_drain_command = None
        _transition(record, AgentStatus.ACTIVE, "drain_cancelled", principal.id, fields=("drain_started_at", "pending_drain_command"))
    else:
        _transition(record, AgentStatus.DEREGISTERED, "deregistered", principal.id)
        agent_release_work(agent_id=agent_id, reason="deregistered")
    return record


def agent_may_take_work(agent_id: str) -> bool:
    """False while the agent is draining: it gets no new leases or task assignments
    (16 §2). Unregistered agents may work (registration is optional); unhealthy ones too."""
    record = rows.get_row(AgentRecord, agent_id)  # on every lease acquire: compiled once
    return record is None or record.status != AgentStatus.DRAINING


# --- other helpers' work, wired after merge ------------------------------------------------

def agent_release_work(*, agent_id: str, reason: str) -> dict:
    """Everything a dead or deregistered agent leaves behind (16 §4 step 2), in the caller's
    transaction: its leases are released, its claimed/running tasks fail and are retried,
    its coordinator leases fail over."""
    from governance.services import coordinator_failover_for_agent
    from intents.services.leases import lease_release_all_for_agent
    from intents.services.tasks import tasks_fail_for_agent

    deregistered = reason == "deregistered"
    return {
        "leases_released": lease_release_all_for_agent(agent_id=agent_id, reason=reason if deregistered else "agent_dead"),
        "tasks_failed": tasks_fail_for_agent(agent_id=agent_id, error="agent_deregistered" if deregistered else "agent_dead"),
        "coordinator_failovers": coordinator_failover_for_agent(agent_id=agent_id),
    }


# --- health sweep (16 §4) -----------------------------------------------------------------

def _sweep_resumed_at(now) -> Any:
    state, _ = SweepState.objects.select_for_update().get_or_create(pk=1)
    if state.last_run_at is None or (now - state.last_run_at).total_seconds() > settings.OPENINTENT_AGENT_SWEEP_RESUME_AFTER_SECONDS:
        state.resumed_at = now
    state.last_run_at = now
    state.save()
    return state.resumed_at


def _has_work(agent_id: str) -> bool:
    from intents.models import Task

    if agent_active_lease_counts([agent_id]).get(agent_id):
        return True
    return Task.objects.filter(assigned_agent=agent_id, status__in=("claimed", "running")).exists()


def _die(record: AgentRecord, reason: str, silence_from) -> None:
    _transition(record, AgentStatus.DEAD, reason, "system")
    _emit(record, "agent.dead", {"agent_id": record.agent_id, "role_id": record.role_id, "last_heartbeat": format_timestamp(record.last_heartbeat_at or silence_from)}, "system")
    agent_release_work(agent_id=record.agent_id, reason=reason)


def _silence_base(record: AgentRecord, now, resumed_at):
    base = record.last_heartbeat_at or record.registered_at
    if resumed_at and (now - resumed_at).total_seconds() <= record.dead_after_seconds:
        base = max(base, resumed_at)
    return base


def _sweep_candidates(now, resumed_at) -> list[tuple[str, str]]:
    """Agents the sweep must look at, read without locks in one query: silent past a
    threshold, or draining. Only these are then locked one by one."""
    rows = AgentRecord.objects.filter(status__in=LIVE_STATUSES).only(
        "agent_id", "status", "last_heartbeat_at", "registered_at", "heartbeat_config")
    due = []
    for record in rows:
        silence = (now - _silence_base(record, now, resumed_at)).total_seconds()
        if (record.status == AgentStatus.DRAINING
                or (record.status == AgentStatus.ACTIVE and silence > record.unhealthy_after_seconds)
                or (record.status == AgentStatus.UNHEALTHY and silence > record.dead_after_seconds)):
            due.append((record.agent_id, record.status))
    return due


def agent_health_sweep(*, now=None) -> dict[str, int]:
    """One run of the health sweep. Each agent is handled in its own transaction, under its
    row lock, and only if its status is still the one read."""
    now = now or timezone.now()
    with transaction.atomic():
        resumed_at = _sweep_resumed_at(now)
    counts = {"unhealthy": 0, "dead": 0, "deregistered": 0}
    for agent_id, seen_status in _sweep_candidates(now, resumed_at):
        with transaction.atomic():
            record = AgentRecord.objects.select_for_update(skip_locked=True).filter(pk=agent_id, status=seen_status).first()
            if record is None:
                continue
            base = _silence_base(record, now, resumed_at)
            silence = (now - base).total_seconds()
            if record.status == AgentStatus.ACTIVE and silence > record.unhealthy_after_seconds:
                _transition(record, AgentStatus.UNHEALTHY, "heartbeat_timeout", "system")
                counts["unhealthy"] += 1
                if silence > record.dead_after_seconds:  # a long gap: both steps in one run
                    _die(record, "heartbeat_timeout", base)
                    counts["dead"] += 1
            elif record.status in (AgentStatus.UNHEALTHY, AgentStatus.DRAINING) and silence > record.dead_after_seconds:
                _die(record, "heartbeat_timeout", base)
                counts["dead"] += 1
            elif record.status == AgentStatus.DRAINING:
                busy = _has_work(agent_id)
                if not busy:
                    _transition(record, AgentStatus.DEREGISTERED, "drain_completed", "system")
                    counts["deregistered"] += 1
                elif record.drain_started_at and now >= record.drain_started_at + timedelta(seconds=record.drain_timeout_seconds or settings.OPENINTENT_DRAIN_TIMEOUT_SECONDS):
                    logger.warning("agent %s drain timed out while still holding work", agent_id)
                    _die(record, "drain_timeout", base)
                    counts["dead"] += 1
    return counts
