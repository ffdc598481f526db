"""Every write to triggers and every fire (RFC-0017, 17 §3–§6).

One function fires a trigger (``_fire``), whatever the source: manual, schedule tick, event,
webhook or queue drain. It runs in one transaction: claim, gate, cascade, deduplication,
intent creation (through ``intents.services.core``), trigger update and history row commit
together, so a fire is either fully recorded or not at all.

Exactly once: every automatic fire first inserts its history row with a ``dedup_key``
(``tick:<time>``, ``event:<id>``, ``webhook:<digest>``) under a unique constraint on
(trigger, dedup_key). A second worker, a re-delivered task or a replayed webhook collides
with that row and creates nothing. Schedule ticks are additionally claimed by moving
``next_fire_at`` under the row lock."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from intents import events
from intents.models import Event, Intent, IntentStatus
from intents.services import core as intent_services
from openintent_project.api.principal import SYSTEM, Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.errors import Conflict, InvalidInput, NotFound, ProtocolError, RateLimited, ServiceUnavailable, VersionConflict

from . import secrets, templating
from .kinds import kind_for
from .models import Deduplication, FireOutcome, FireSource, Trigger, TriggerFire, TriggerType

log = logging.getLogger(__name__)

TRIGGER_NOT_FOUND = "Trigger not found"
INVALID_SIGNATURE = "Invalid webhook signature"
FINISHED = (IntentStatus.COMPLETED, IntentStatus.ABANDONED)
UNSET: Any = object()
# Reacting to a cascade stop could only restart the runaway chain it stopped: never matched.
UNMATCHED_EVENTS = {"trigger.cascade_limit"}

# Template keys (17 §4): the SDK model's plus the FIX extras.
TEMPLATE_KEYS = {
    "type", "title", "priority", "assignee", "assign", "context", "graph_id", "tags", "description",
    "initial_state", "state", "constraints", "status", "parent_intent_id", "depends_on", "governance_policy",
}


# --- reads ------------------------------------------------------------------------------

def _as_uuid_or_none(value: Any) -> uuid.UUID | None:
    return intent_services._as_uuid(value)


def trigger_get(trigger_id: Any) -> Trigger:
    pk = intent_services._as_uuid(trigger_id)
    trigger = Trigger.objects.filter(pk=pk).first() if pk else None
    if trigger is None:
        raise NotFound(TRIGGER_NOT_FOUND)
    return trigger


def _trigger_lock(trigger_id: Any) -> Trigger:
    pk = intent_services._as_uuid(trigger_id)
    trigger = Trigger.objects.select_for_update().filter(pk=pk).first() if pk else None
    if trigger is None:
        raise NotFound(TRIGGER_NOT_FOUND)
    return trigger


# --- validation ---------------------------------------------------------------------------

def _clean_template(template: Any) -> dict | None:
    if template is None:
        return None
    if not isinstance(template, dict):
        raise InvalidInput.at(("body", "intent_template"), "Input should be a valid dictionary", type="dict_type", input=template)
    status = template.get("status")
    if status is not None and "{{" not in str(status) and status not in IntentStatus.values:
        raise InvalidInput.at(
            ("body", "intent_template", "status"), f"Input should be one of: {', '.join(IntentStatus.values)}",
            type="enum", input=status,
        )
    for key in ("context", "initial_state", "state", "constraints", "governance_policy"):
        value = template.get(key)
        if value is not None and not isinstance(value, dict):
            raise InvalidInput.at(("body", "intent_template", key), "Input should be a valid dictionary", type="dict_type", input=value)
    for key in ("tags", "depends_on"):
        value = template.get(key)
        if value is not None and not isinstance(value, list):
            raise InvalidInput.at(("body", "intent_template", key), "Input should be a valid list", type="list_type", input=value)
    return template


def _apply_condition(trigger: Trigger, condition: Any, *, now: datetime) -> None:
    """Validate ``condition`` for the trigger's kind and store it. The secret is write-only:
    absent keeps the stored one, ``null`` removes it, a string replaces it (17 §2)."""
    if condition is None:
        condition = {}
    if not isinstance(condition, dict):
        raise InvalidInput.at(("body", "condition"), "Input should be a valid dictionary", type="dict_type", input=condition)
    condition = dict(condition)
    secret = condition.pop("secret", UNSET)
    if secret is not UNSET:
        if secret is None or secret == "":
            trigger.secret_encrypted = ""
        elif isinstance(secret, str):
            trigger.secret_encrypted = secrets.secret_encrypt(secret)
        else:
            raise InvalidInput.at(("body", "condition", "secret"), "Input should be a valid string", type="string_type", input="***")
    kind = kind_for(trigger.type)
    trigger.condition = kind.clean_condition(condition, now=now)
    trigger.webhook_method, trigger.webhook_path = kind.webhook_route(trigger.condition)


def _schedule(trigger: Trigger, *, now: datetime) -> None:
    """Recompute ``next_fire_at`` from now: never backfills (17 §3 PATCH)."""
    trigger.next_fire_at = kind_for(trigger.type).next_fire_at(trigger, after=now) if trigger.enabled else None


def _save_unique_route(trigger: Trigger, **kwargs) -> None:
    try:
        with transaction.atomic():
            trigger.save(**kwargs)
    except IntegrityError:
        raise Conflict(
            f"A webhook trigger already listens on {trigger.webhook_method} {trigger.webhook_path}"
        ) from None


# --- create, update, delete, enable ------------------------------------------------------

@transaction.atomic
def trigger_create(
    *,
    principal: Principal,
    name: str,
    type: str,
    condition: dict | None = None,
    intent_template: dict | None = None,
    deduplication: str = Deduplication.ALLOW,
    namespace: str | None = None,
    enabled: bool = True,
) -> Trigger:
    if type not in TriggerType.values:
        raise InvalidInput.at(("body", "type"), f"Input should be one of: {', '.join(TriggerType.values)}", type="enum", input=type)
    now = timezone.now()
    trigger = Trigger(
        name=name, type=type, enabled=enabled, deduplication=deduplication, namespace=namespace,
        intent_template=_clean_template(intent_template), created_by=principal.id,
        created_at=now, updated_at=now,
    )
    _apply_condition(trigger, condition, now=now)
    _schedule(trigger, now=now)
    _save_unique_route(trigger, force_insert=True)
    return trigger


@transaction.atomic
def trigger_update(*, principal: Principal, trigger_id: Any, expected_version: int, changes: dict) -> Trigger:
    """PATCH (17 §3): ``enabled``, ``condition``, ``intent_template``, ``deduplication``.
    404 for an unknown id, ``VersionConflict`` when ``If-Match`` is stale; version +1."""
    trigger = _trigger_lock(trigger_id)
    if trigger.version != expected_version:
        raise VersionConflict(current_version=trigger.version)
    now = timezone.now()
    if "condition" in changes:
        _apply_condition(trigger, changes["condition"], now=now)  # no "secret" key: kept
    if "intent_template" in changes:
        trigger.intent_template = _clean_template(changes["intent_template"])
    if "deduplication" in changes:
        trigger.deduplication = changes["deduplication"]
    if "enabled" in changes:
        trigger.enabled = changes["enabled"]
    _schedule(trigger, now=now)
    trigger.version += 1
    trigger.updated_at = now
    _save_unique_route(trigger)
    return trigger


@transaction.atomic
def trigger_set_enabled(*, principal: Principal, trigger_id: Any, enabled: bool) -> Trigger:
    """Enable or disable without a version check (admin actions); still a new version."""
    trigger = _trigger_lock(trigger_id)
    return trigger_update(principal=principal, trigger_id=trigger.pk, expected_version=trigger.version, changes={"enabled": enabled})


@transaction.atomic
def trigger_delete(*, principal: Principal, trigger_id: Any) -> None:
    """Delete the trigger; intents it created and its fire history stay (17 §3)."""
    trigger = _trigger_lock(trigger_id)
    trigger.delete()


# --- firing -------------------------------------------------------------------------------

@dataclass
class FireResult:
    trigger: Trigger
    outcome: str
    fire: TriggerFire | None = None
    intent: Intent | None = None
    existing_intent_id: str | None = None
    claimed: bool = True  # False: this tick/event/delivery was already handled elsewhere
    detail: dict = field(default_factory=dict)


def _lineage(trigger: Trigger, *, source_intent: Intent | None, source_lineage: dict | None = None) -> tuple[int, list[str]]:
    """Depth and chain of this fire (17 §5.3): one more than the source's. The source is the
    triggering event's own lineage when it carries one (``trigger.*`` events), else the
    source intent's ``_trigger``."""
    parent = source_lineage
    if parent is None and source_intent is not None:
        parent = (source_intent.state or {}).get("_trigger")
    if not isinstance(parent, dict):
        return 1, [str(trigger.pk)]
    depth = parent.get("trigger_depth") if isinstance(parent.get("trigger_depth"), int) else 0
    chain = parent.get("trigger_chain") if isinstance(parent.get("trigger_chain"), list) else []
    return depth + 1, [*chain, str(trigger.pk)]


def _active_match(trigger: Trigger, template: dict) -> Intent | None:
    """An unfinished intent that this fire would duplicate (17 §5.4)."""
    intents = Intent.objects.exclude(status__in=FINISHED)
    intent_type = template.get("type")
    if intent_type:
        intents = intents.filter(state___trigger__intent_type=intent_type)
        if trigger.namespace is not None:
            intents = intents.filter(state___trigger__namespace=trigger.namespace)
    else:
        intents = intents.filter(state___trigger__trigger_id=str(trigger.pk))
    return intents.order_by("created_at").first()


def _variables(trigger: Trigger, *, now: datetime, fire_count: int, extra: dict) -> dict:
    return {
        "trigger": {
            "trigger_id": str(trigger.pk), "name": trigger.name, "type": trigger.type,
            "namespace": trigger.namespace, "fired_at": format_timestamp(now), "fire_count": fire_count,
        },
        "now": format_timestamp(now),
        "today": now.date().isoformat(),
        **extra,
    }


def _record_on(intent_id: Any, event_type: str, payload: dict) -> None:
    intent = Intent.objects.select_for_update().filter(pk=intent_id).first()
    if intent is not None:
        events.record(intent, event_type, events.SYSTEM_ACTOR, payload)


def _create_intent(trigger: Trigger, *, now: datetime, fire_count: int, source: str, variables: dict,
                   depth: int, chain: list[str]) -> tuple[Intent, dict]:
    template = trigger.intent_template or {}
    rendered = templating.render(template, variables)
    state: dict = {}
    for key in ("context", "initial_state", "state"):
        if isinstance(rendered.get(key), dict):
            state.update(rendered[key])
    transform = (trigger.condition or {}).get("transform") if trigger.type == TriggerType.WEBHOOK else None
    if isinstance(transform, dict):
        state.update(templating.render(transform, variables))
    state["_trigger"] = {
        "created_by": "trigger", "trigger_id": str(trigger.pk), "trigger_type": trigger.type,
        "trigger_depth": depth, "trigger_chain": chain, "fired_at": format_timestamp(now),
        "fire_count": fire_count, "source": source, "intent_type": template.get("type"),
        "priority": rendered.get("priority") or "medium", "tags": rendered.get("tags") or [],
        "namespace": trigger.namespace,
    }
    parent_id = rendered.get("parent_intent_id")
    graph_id = rendered.get("graph_id")
    if not parent_id and graph_id and intent_services.intent_exists(graph_id):
        parent_id = graph_id
    title = rendered.get("title")
    depends_on = rendered.get("depends_on") or []
    if not isinstance(depends_on, list):
        raise InvalidInput.at(("intent_template", "depends_on"), "Input should be a valid list", type="list_type", input=depends_on)
    for dep in depends_on:
        if not intent_services.intent_exists(dep):
            raise InvalidInput.at(("intent_template", "depends_on"), f"Dependency {dep} not found", input=dep)
    intent = intent_services.intent_create(
        principal=SYSTEM,
        title=str(title) if title not in (None, "") else trigger.name,
        description=str(rendered.get("description") or ""),
        created_by=trigger.created_by or SYSTEM.id,
        parent_id=str(parent_id) if parent_id else None,
        depends_on=[str(d) for d in depends_on],
        constraints=rendered.get("constraints") if isinstance(rendered.get("constraints"), dict) else {},
        state=state,
        status=str(rendered.get("status") or IntentStatus.ACTIVE),
        governance_policy=rendered.get("governance_policy") if isinstance(rendered.get("governance_policy"), dict) else None,
    )
    detail: dict = {}
    assignee = rendered.get("assignee") or rendered.get("assign")
    if assignee:
        try:
            # Normal assignment rules apply (ACL, allowed_agents); a refusal keeps the intent.
            with transaction.atomic():
                intent_services.agent_assign(principal=SYSTEM, intent_id=str(intent.pk), agent_id=str(assignee))
        except ProtocolError as error:
            detail["assign_error"] = error.detail if isinstance(error.detail, str) else repr(error.detail)
    return intent, detail


def _claim(trigger: Trigger, *, now: datetime, source: str, dedup_key: str | None) -> TriggerFire | None:
    fire = TriggerFire(
        trigger_id=trigger.pk, trigger_name=trigger.name, fired_at=now, source=source,
        outcome=FireOutcome.FIRED, fire_count=trigger.fire_count, dedup_key=dedup_key,
    )
    try:
        with transaction.atomic():
            fire.save(force_insert=True)
    except IntegrityError:
        return None
    return fire


def _fire(
    trigger: Trigger,
    *,
    source: str,
    extra_variables: dict | None = None,
    dedup_key: str | None = None,
    source_intent: Intent | None = None,
    source_lineage: dict | None = None,
    raise_errors: bool = True,
    now: datetime | None = None,
) -> FireResult:
    """Fire a locked trigger (17 §5). Caller: inside ``transaction.atomic`` with the trigger
    row locked, gate (enabled, window) already checked."""
    now = now or timezone.now()
    fire = _claim(trigger, now=now, source=source, dedup_key=dedup_key)
    if fire is None:
        return FireResult(trigger=trigger, outcome="duplicate", claimed=False)
    result = FireResult(trigger=trigger, outcome=FireOutcome.FIRED, fire=fire)
    template = trigger.intent_template or {}
    depth, chain = _lineage(trigger, source_intent=source_intent, source_lineage=source_lineage)

    if depth > settings.TRIGGERS_MAX_DEPTH:
        result.outcome = FireOutcome.CASCADE_LIMIT
        if source_intent is not None:
            _record_on(source_intent.pk, "trigger.cascade_limit", {
                "trigger_id": str(trigger.pk), "trigger_depth": depth,
                "max_depth": settings.TRIGGERS_MAX_DEPTH, "trigger_chain": chain,
            })
    elif trigger.deduplication != Deduplication.ALLOW and (existing := _active_match(trigger, template)):
        result.existing_intent_id = str(existing.pk)
        if trigger.deduplication == Deduplication.SKIP:
            result.outcome = FireOutcome.SKIPPED
            # The lineage keys (beyond the RFC's two) bound a trigger that reacts to skips.
            _record_on(existing.pk, "trigger.skipped", {
                "trigger_id": str(trigger.pk), "existing_intent_id": str(existing.pk),
                "trigger_depth": depth, "trigger_chain": chain,
            })
        else:
            result.outcome = FireOutcome.QUEUED
            if not trigger.pending_fire:  # at most one pending fire
                trigger.pending_fire = True
                trigger.pending_intent_id = existing.pk
                trigger.pending_payload = extra_variables or {}
                trigger.save(update_fields=["pending_fire", "pending_intent_id", "pending_payload"])
    else:
        fire_count = trigger.fire_count + 1
        variables = _variables(trigger, now=now, fire_count=fire_count, extra=extra_variables or {})
        try:
            with transaction.atomic():
                intent, detail = _create_intent(
                    trigger, now=now, fire_count=fire_count, source=source, variables=variables, depth=depth, chain=chain,
                )
                intent = intent_services.intent_lock(intent.pk)
                events.record(intent, "trigger.fired", events.SYSTEM_ACTOR, {
                    "trigger_id": str(trigger.pk), "created_intent_id": str(intent.pk), "trigger_type": trigger.type,
                    "fire_count": fire_count, "trigger_depth": depth, "trigger_chain": chain, "source": source,
                })
        except ProtocolError as error:
            if raise_errors:
                raise
            result.outcome = FireOutcome.FAILED
            result.detail = {"error": error.detail if isinstance(error.detail, (str, list, dict)) else str(error)}
        else:
            result.intent, result.detail = intent, detail
            trigger.fire_count = fire_count
            trigger.last_fired_at = now
            trigger.updated_at = now  # REF moves updated_at on a fire; version stays
            if (trigger.condition or {}).get("at") and trigger.type == TriggerType.SCHEDULE:
                trigger.enabled = False  # a one-shot fires once (17 §2)
                trigger.next_fire_at = None
            trigger.save(update_fields=["fire_count", "last_fired_at", "updated_at", "enabled", "next_fire_at"])

    fire.outcome = result.outcome
    fire.intent_id = result.intent.pk if result.intent else (uuid.UUID(result.existing_intent_id) if result.existing_intent_id else None)
    fire.fire_count = trigger.fire_count
    fire.detail = result.detail
    fire.save(update_fields=["outcome", "intent_id", "fire_count", "detail"])
    return result


@transaction.atomic
def trigger_fire_manual(*, principal: Principal, trigger_id: Any, payload: Any = None, body: Any = None) -> FireResult:
    """``POST /triggers/{id}/fire``: skips the schedule/event condition, not deduplication or
    the cascade limit. 409 ``Trigger is disabled`` for a disabled trigger (17 §3)."""
    trigger = _trigger_lock(trigger_id)
    if not trigger.enabled:
        raise Conflict("Trigger is disabled")
    return _fire(
        trigger, source=FireSource.MANUAL,
        extra_variables={"payload": payload if payload is not None else {}, "body": body if body is not None else {}},
    )


def _lock_for_tick(trigger_id: Any) -> Trigger | None:
    query = Trigger.objects.filter(pk=trigger_id)
    if connection.features.has_select_for_update_skip_locked:
        # Another worker is firing this trigger right now: leave it to that worker.
        return query.select_for_update(skip_locked=True).first()
    return query.select_for_update().first()


@transaction.atomic
def schedule_fire_due(*, trigger_id: Any, scheduled_for: datetime, now: datetime | None = None) -> FireResult | None:
    """Fire one due schedule tick exactly once (17 §6). The tick is claimed twice over: the
    trigger's ``next_fire_at`` must still equal ``scheduled_for`` under the row lock (it moves
    in this transaction), and the history row's ``tick:<scheduled_for>`` key is unique.
    Returns None when the tick was already handled or is no longer due."""
    now = now or timezone.now()
    trigger = _lock_for_tick(trigger_id)
    if (
        trigger is None or not trigger.enabled or trigger.type != TriggerType.SCHEDULE
        or trigger.next_fire_at is None or trigger.next_fire_at != scheduled_for or scheduled_for > now
    ):
        return None
    kind = kind_for(trigger.type)
    missed = (now - scheduled_for).total_seconds() > settings.TRIGGERS_MISSED_GRACE_SECONDS
    result = None
    if kind.in_window(trigger, now=now) and (not missed or settings.TRIGGERS_CATCH_UP_MISSED):
        result = _fire(
            trigger, source=FireSource.SCHEDULE, dedup_key=f"tick:{format_timestamp(scheduled_for)}",
            raise_errors=False, now=now,
            extra_variables={"schedule": {"scheduled_for": format_timestamp(scheduled_for), "missed": missed}},
        )
        if result.claimed and missed:
            result.fire.detail = {**result.fire.detail, "caught_up": format_timestamp(scheduled_for)}
            result.fire.save(update_fields=["detail"])
    elif missed:
        log.info("trigger %s: missed tick %s not caught up", trigger.pk, scheduled_for)
    if trigger.enabled:
        # Next tick strictly after now: a missed run is caught up at most once, never backfilled.
        trigger.next_fire_at = kind.next_fire_at(trigger, after=max(now, scheduled_for))
    trigger.save(update_fields=["next_fire_at"])
    return result


def schedule_tick(*, now: datetime | None = None) -> int:
    """The beat job: give schedules without a next time one, then fire every due tick once.
    Each trigger fires in its own transaction so one failure cannot stop the others."""
    now = now or timezone.now()
    for trigger in Trigger.objects.filter(type=TriggerType.SCHEDULE, enabled=True, next_fire_at__isnull=True, fire_count=0, last_fired_at__isnull=True):
        nxt = kind_for(trigger.type).next_fire_at(trigger, after=now)
        if nxt is not None:
            Trigger.objects.filter(pk=trigger.pk, next_fire_at__isnull=True).update(next_fire_at=nxt)
    due = Trigger.objects.filter(type=TriggerType.SCHEDULE, enabled=True, next_fire_at__lte=now).values_list("pk", "next_fire_at")
    fired = 0
    for pk, scheduled_for in list(due):
        try:
            result = schedule_fire_due(trigger_id=pk, scheduled_for=scheduled_for, now=now)
        except Exception:  # noqa: BLE001 - one broken trigger must not stop the tick
            log.exception("trigger %s: scheduled fire failed", pk)
            continue
        fired += bool(result and result.claimed)
    return fired


# --- events -------------------------------------------------------------------------------

def _event_variables(event: Event) -> dict:
    payload = event.payload if isinstance(event.payload, dict) else {}
    return {"event": {
        **payload, "event_type": event.event_type, "intent_id": str(event.intent_id), "actor": event.actor,
        "event_id": str(event.uuid) if getattr(event, "uuid", None) else str(event.pk),
        "created_at": format_timestamp(event.created_at),
    }}


def event_triggers_exist() -> bool:
    return Trigger.objects.filter(type=TriggerType.EVENT, enabled=True).exists()


def event_dispatch(*, event_id: int) -> int:
    """Match one stored event against every enabled event trigger and fire each match once
    (17 §5 "Matching"). Idempotent: ``event:<id>`` is claimed per trigger."""
    event = Event.objects.select_related("intent").filter(pk=event_id).first()
    if event is None:
        return 0
    payload = event.payload if isinstance(event.payload, dict) else {}
    facts = {"event_type": event.event_type, "intent_id": str(event.intent_id), "actor": event.actor}
    kind = kind_for(TriggerType.EVENT)
    fired = 0
    if event.event_type in UNMATCHED_EVENTS:
        return 0
    lineage = payload if event.event_type.startswith("trigger.") and isinstance(payload.get("trigger_depth"), int) else None
    for trigger in Trigger.objects.filter(type=TriggerType.EVENT, enabled=True):
        if not kind.matches(trigger.condition or {}, event_type=event.event_type, facts=facts, payload=payload):
            continue
        try:
            with transaction.atomic():
                locked = _trigger_lock(trigger.pk)
                if not locked.enabled:
                    continue
                result = _fire(
                    locked, source=FireSource.EVENT, dedup_key=f"event:{event.pk}", source_intent=event.intent,
                    source_lineage=lineage, extra_variables=_event_variables(event), raise_errors=False,
                )
                fired += result.claimed and result.outcome == FireOutcome.FIRED
        except NotFound:
            continue  # deleted meanwhile
        except Exception:  # noqa: BLE001
            log.exception("trigger %s: event fire failed", trigger.pk)
    if event.event_type == "status_changed" and payload.get("status") in FINISHED:
        fired += queue_drain(intent_id=event.intent_id)
    return fired


def lifecycle_event_dispatch(*, event_type: str, actor: str, payload: dict | None = None, key: str | None = None) -> int:
    """Match an agent-lifecycle emission (16: ``agent.registered``, ``agent.status_changed``,
    ``agent.dead``), which has no intent, against the event triggers. ``key`` (unique per
    emission) makes a redelivered task harmless. Called by ``lifecycle_event_dispatch_task``."""
    payload = payload if isinstance(payload, dict) else {}
    facts = {"event_type": event_type, "intent_id": None, "actor": actor}
    variables = {"event": {**payload, **facts, "event_id": key, "created_at": format_timestamp(timezone.now())}}
    kind = kind_for(TriggerType.EVENT)
    fired = 0
    for trigger in Trigger.objects.filter(type=TriggerType.EVENT, enabled=True):
        if not kind.matches(trigger.condition or {}, event_type=event_type, facts=facts, payload=payload):
            continue
        try:
            with transaction.atomic():
                locked = _trigger_lock(trigger.pk)
                if locked.enabled:
                    result = _fire(locked, source=FireSource.EVENT, dedup_key=f"agent:{key}" if key else None,
                                   extra_variables=variables, raise_errors=False)
                    fired += result.claimed and result.outcome == FireOutcome.FIRED
        except NotFound:
            continue
        except Exception:  # noqa: BLE001
            log.exception("trigger %s: lifecycle event fire failed", trigger.pk)
    return fired


def lifecycle_event_emitted(*, event_type: str, actor: str, payload: dict | None = None) -> None:
    """The hook for the agents app (16): call after commit of an agent-lifecycle change."""
    from .tasks import lifecycle_event_dispatch_task

    if Trigger.objects.filter(type=TriggerType.EVENT, enabled=True).exists():
        lifecycle_event_dispatch_task.delay(event_type, actor, payload or {}, uuid.uuid4().hex)


# --- queue drain --------------------------------------------------------------------------

def queue_drain(*, intent_id: Any = None) -> int:
    """Fire the pending fires whose blocking intent finished (17 §6). ``intent_id`` limits
    the drain to triggers waiting for that intent (the on-commit path); None is the sweep."""
    waiting = Trigger.objects.filter(pending_fire=True)
    if intent_id is not None:
        waiting = waiting.filter(pending_intent_id=intent_id)
    fired = 0
    for pk in list(waiting.values_list("pk", flat=True)):
        try:
            fired += _queue_drain_one(pk)
        except Exception:  # noqa: BLE001
            log.exception("trigger %s: queued fire failed", pk)
    return fired


@transaction.atomic
def _queue_drain_one(trigger_id: Any) -> int:
    trigger = Trigger.objects.select_for_update().filter(pk=trigger_id, pending_fire=True).first()
    if trigger is None:
        return 0
    blocking = Intent.objects.filter(pk=trigger.pending_intent_id).values_list("status", flat=True).first()
    if blocking is not None and blocking not in FINISHED:
        return 0
    extra = trigger.pending_payload or {}
    trigger.pending_fire, trigger.pending_intent_id, trigger.pending_payload = False, None, None
    trigger.save(update_fields=["pending_fire", "pending_intent_id", "pending_payload"])
    if not trigger.enabled:
        return 0
    result = _fire(trigger, source=FireSource.QUEUE, extra_variables=extra, raise_errors=False)
    return int(result.outcome == FireOutcome.FIRED)


# --- webhooks -----------------------------------------------------------------------------

def _webhook_digest(signature: str, timestamp: str | None) -> str:
    return hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()


@transaction.atomic
def webhook_receive(*, method: str, path: str, raw_body: bytes, body: Any, headers: dict, query: dict,
                    signature: str | None, timestamp: str | None) -> FireResult:
    """Verify and fire an inbound webhook (17 §3 NEW). Raises ``NotFound`` (no enabled trigger
    on this route), a 401 ``ProtocolError`` (bad signature or stale timestamp), ``RateLimited`` (429)."""
    from .kinds.webhook import normalize_path, signature_matches, verify_timestamp

    route = normalize_path(path)
    trigger = (
        Trigger.objects.select_for_update()
        .filter(type=TriggerType.WEBHOOK, enabled=True, webhook_method=method.upper(), webhook_path=route)
        .first()
    )
    if trigger is None:
        raise NotFound("No enabled webhook trigger for this path")
    now = timezone.now()
    window = timedelta(seconds=settings.TRIGGERS_WEBHOOK_RATE_WINDOW_SECONDS)
    recent = TriggerFire.objects.filter(trigger_id=trigger.pk, source=FireSource.WEBHOOK, fired_at__gt=now - window).count()
    if recent >= settings.TRIGGERS_WEBHOOK_RATE_LIMIT:
        raise RateLimited("Webhook rate limit exceeded", retry_after=settings.TRIGGERS_WEBHOOK_RATE_WINDOW_SECONDS)
    dedup_key = None
    if trigger.secret_encrypted:
        try:
            secret = secrets.secret_decrypt(trigger.secret_encrypted)
        except ValueError:
            log.error("trigger %s: webhook secret cannot be decrypted with the configured keys", trigger.pk)
            raise ServiceUnavailable("Webhook secret cannot be decrypted") from None
        if not signature_matches(secret, raw_body, timestamp, signature):
            raise ProtocolError(INVALID_SIGNATURE, status_code=401)
        # The timestamp is covered by the signature: in the header form, or the body's own
        # top-level ``timestamp`` (what our outbound adapter sends, 14).
        verify_timestamp(timestamp if timestamp is not None else (body.get("timestamp") if isinstance(body, dict) else None), now=now)
        dedup_key = "webhook:" + _webhook_digest(signature.strip(), timestamp)
    variables = {"body": body, "payload": body, "headers": headers, "query": query}
    result = _fire(trigger, source=FireSource.WEBHOOK, extra_variables=variables, dedup_key=dedup_key)
    return result
