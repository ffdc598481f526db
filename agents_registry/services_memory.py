"""Agent memory (RFC-0015, protocol 15): entries, recall, TTL expiry, working-memory
archival, episodic capacity with LRU eviction, size limits.

Memory events go to the log of the entry's intent (``scope.intent_id``, else the intent of
``scope.task_id``) when there is one; otherwise they are only sent on ``agent_event``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.api.timestamps import format_timestamp
from openintent_project.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    VersionConflict,
)

from .models import MemoryEntry, MemoryPriority, MemorySensitivity, MemoryTag, MemoryType
from .signals import agent_event

MEMORY_NOT_FOUND = "Memory entry not found"
TASK_LIFETIME = "task_lifetime"
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


# --- value checks -------------------------------------------------------------------------

def ttl_seconds(ttl: str | None, loc=("body", "ttl")) -> float | None:
    """Seconds until expiry for ``ttl`` (15 §2): ``duration:<ISO-8601>``, a bare ISO
    duration or a digit string; None for no expiry or ``task_lifetime``."""
    if ttl is None or ttl == TASK_LIFETIME:
        return None
    text = ttl[len("duration:"):] if ttl.startswith("duration:") else ttl
    if text.isdigit():
        return float(text)
    match = _DURATION.match(text.upper())
    if not match:
        raise InvalidInput.at(loc, "ttl must be 'task_lifetime', 'duration:<ISO-8601 duration>' or seconds", input=ttl)
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["weeks"] * 604800 + parts["days"] * 86400 + parts["hours"] * 3600 + parts["minutes"] * 60 + parts["seconds"]


def _check_enum(value, choices, loc) -> None:
    if value is not None and value not in choices.values:
        raise InvalidInput.at(loc, f"Input should be one of: {', '.join(choices.values)}", type="enum", input=value)


def _size(value: dict) -> int:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > settings.OPENINTENT_MEMORY_MAX_VALUE_BYTES:
        raise PayloadTooLarge(f"Memory value too large ({size} bytes; limit {settings.OPENINTENT_MEMORY_MAX_VALUE_BYTES})")
    return size


def _scope_ids(scope: dict | None) -> tuple[str | None, str | None]:
    if not scope:
        return None, None
    for name in ("task_id", "intent_id"):
        value = scope.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput.at(("body", "scope", name), "Input should be a valid string", type="string_type", input=value)
    return scope.get("task_id"), scope.get("intent_id")


# --- events -------------------------------------------------------------------------------

def _entry_intent_id(entry: MemoryEntry):
    from intents.models import Intent, Task
    from intents.services import _as_uuid

    intent_id = _as_uuid(entry.scope_intent_id) if entry.scope_intent_id else None
    if intent_id and Intent.objects.filter(pk=intent_id).exists():
        return intent_id
    task_id = _as_uuid(entry.scope_task_id) if entry.scope_task_id else None
    if task_id:
        return Task.objects.filter(pk=task_id).values_list("intent_id", flat=True).first()
    return None


def _lock_entry(pk, *, skip_locked: bool = False, **filters):
    """Lock order everywhere is intent, then memory rows (task hooks archive memory while
    holding the intent lock), so the entry's intent is locked first. Returns (entry, intent)."""
    from intents.services import intent_lock

    if pk is None:
        return None, None
    row = MemoryEntry.objects.filter(pk=pk, **filters).first()
    if row is None:
        return None, None
    intent_id = _entry_intent_id(row)
    intent = intent_lock(intent_id) if intent_id is not None else None
    entry = MemoryEntry.objects.select_for_update(skip_locked=skip_locked).filter(pk=pk, **filters).first()
    return entry, intent


def _emit(entry: MemoryEntry, event_type: str, payload: dict, actor: str, intent=None) -> None:
    from intents import events
    from intents.services import intent_lock

    intent_id = intent.pk if intent is not None else _entry_intent_id(entry)
    if intent_id is not None:
        events.record(intent if intent is not None else intent_lock(intent_id), event_type, actor, payload)
    agent_id = entry.agent_id
    transaction.on_commit(lambda: agent_event.send(sender=MemoryEntry, agent_id=agent_id, event_type=event_type, payload=payload, actor=actor))


def _summary(entry: MemoryEntry, **extra) -> dict:
    return {"entry_id": str(entry.pk), "agent_id": entry.agent_id, "namespace": entry.namespace, "key": entry.key,
            "memory_type": entry.memory_type, **extra}


# --- access (15 §3) -----------------------------------------------------------------------

ACCESS_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}


def namespace_access(principal: Principal, namespace: str) -> int:
    """The principal's access to a semantic namespace (15 §3), from the server setting
    ``OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS`` = ``{namespace: {default, allow:[{agent,
    access}]}}``; a key ending in ``*`` is a prefix, the longest match wins. Without a
    rule: read for everyone, write for the entry's own agent."""
    rules = settings.OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS or {}
    rule = rules.get(namespace)
    if rule is None:
        prefixes = [k for k in rules if k.endswith("*") and namespace.startswith(k[:-1])]
        rule = rules[max(prefixes, key=len)] if prefixes else None
    if rule is None:
        return ACCESS_LEVELS["write"]
    if principal.is_operator:
        return ACCESS_LEVELS["admin"]
    level = ACCESS_LEVELS.get(rule.get("default", "read"), 1)
    for grant in rule.get("allow") or []:
        if grant.get("agent") == principal.id:
            level = max(level, ACCESS_LEVELS.get(grant.get("access"), 0))
    return level


def _may_read(principal: Principal, entry: MemoryEntry) -> bool:
    if entry.memory_type == MemoryType.SEMANTIC:
        return principal.may_act_for(entry.agent_id) or namespace_access(principal, entry.namespace) >= ACCESS_LEVELS["read"]
    return principal.may_act_for(entry.agent_id)


def _require_write(principal: Principal, agent_id: str, *, memory_type: str | None = None, namespace: str | None = None) -> None:
    if not principal.may_act_for(agent_id):
        raise Forbidden(f"Principal may not write memory of agent '{agent_id}'")
    if memory_type == MemoryType.SEMANTIC and namespace_access(principal, namespace) < ACCESS_LEVELS["write"]:
        raise Forbidden(f"Principal may not write semantic namespace '{namespace}'")


# --- CRUD ---------------------------------------------------------------------------------

def memory_get(*, principal: Principal, entry_id: Any) -> MemoryEntry:
    from intents.services import _as_uuid

    pk = _as_uuid(entry_id)
    now = timezone.now()
    entry = MemoryEntry.objects.filter(pk=pk).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).first() if pk else None
    if entry is None:
        raise NotFound(MEMORY_NOT_FOUND)
    if not _may_read(principal, entry):
        raise Forbidden(f"Principal may not read memory of agent '{entry.agent_id}'")
    MemoryEntry.objects.filter(pk=entry.pk).update(last_accessed_at=now)
    return entry


def _set_tags(entry: MemoryEntry, tags: list[str]) -> None:
    MemoryTag.objects.filter(entry=entry).delete()
    MemoryTag.objects.bulk_create([MemoryTag(entry=entry, tag=tag) for tag in dict.fromkeys(tags)])


def _evict_for(agent_id: str, actor: str) -> None:
    """Make room for one more episodic entry (15 §4): unpinned, lowest priority first, then
    least recently accessed; 429 when everything is pinned."""
    capacity = settings.OPENINTENT_MEMORY_EPISODIC_CAPACITY
    live = MemoryEntry.objects.filter(agent_id=agent_id, memory_type=MemoryType.EPISODIC)
    excess = live.count() - capacity + 1
    if excess <= 0:
        return
    rank = Case(When(priority="low", then=Value(0)), When(priority="normal", then=Value(1)), default=Value(2), output_field=IntegerField())
    victims = list(live.filter(pinned=False).annotate(rank=rank).order_by("rank", "last_accessed_at", "id")[:excess])
    if len(victims) < excess:
        raise RateLimited("Memory capacity exceeded: every episodic entry is pinned", retry_after=60)
    for victim in victims:
        _emit(victim, "memory.evicted", _summary(victim, reason="capacity"), actor)
        victim.delete()


def _working_cap(task_id: str | None) -> int | None:
    from intents.models import Task
    from intents.services import _as_uuid

    pk = _as_uuid(task_id) if task_id else None
    policy = Task.objects.filter(pk=pk).values_list("memory_policy", flat=True).first() if pk else None
    return (policy or {}).get("max_entries") if isinstance(policy, dict) else None


@transaction.atomic
def memory_create(
    *,
    principal: Principal,
    agent_id: str,
    namespace: str,
    key: str,
    value: dict,
    memory_type: str = MemoryType.WORKING,
    scope: dict | None = None,
    tags: list[str] | None = None,
    ttl: str | None = None,
    pinned: bool = False,
    priority: str = MemoryPriority.NORMAL,
    sensitivity: str | None = None,
    expires_at=None,
) -> MemoryEntry:
    _check_enum(memory_type, MemoryType, ("body", "memory_type"))
    _check_enum(priority, MemoryPriority, ("body", "priority"))
    _check_enum(sensitivity, MemorySensitivity, ("body", "sensitivity"))
    seconds = ttl_seconds(ttl)
    task_id, intent_id = _scope_ids(scope)
    size = _size(value)
    _require_write(principal, agent_id, memory_type=memory_type, namespace=namespace)
    duplicate = MemoryEntry.objects.filter(namespace=namespace, key=key)
    duplicate = duplicate.filter(memory_type=MemoryType.SEMANTIC) if memory_type == MemoryType.SEMANTIC else duplicate.filter(agent_id=agent_id).exclude(memory_type=MemoryType.SEMANTIC)
    existing = duplicate.values_list("pk", "version", "expires_at").first()
    now = timezone.now()
    if existing is not None:
        if existing[2] is not None and existing[2] <= now:
            memory_expire_one(existing[0])  # an expired entry no longer holds its key
        else:
            raise Conflict("Memory entry already exists", entry_id=str(existing[0]), current_version=existing[1])
    if memory_type == MemoryType.WORKING and task_id:
        cap = _working_cap(task_id)
        if cap is not None and MemoryEntry.objects.filter(scope_task_id=task_id, memory_type=MemoryType.WORKING).count() >= cap:
            raise RateLimited("Memory capacity exceeded: working memory limit of the task reached", retry_after=60)
    if memory_type == MemoryType.EPISODIC:
        _evict_for(agent_id, principal.id)
    try:
        with transaction.atomic():
            entry = MemoryEntry.objects.create(
                agent_id=agent_id, namespace=namespace, key=key, value=value, memory_type=memory_type,
                scope=scope, scope_task_id=task_id, scope_intent_id=intent_id, tags=list(tags or []), ttl=ttl,
                pinned=pinned, priority=priority, sensitivity=sensitivity, size_bytes=size,
                created_at=now, updated_at=now, last_accessed_at=now,
                # expires_at overrides ttl (15 §4)
                expires_at=expires_at or (now + timedelta(seconds=seconds) if seconds is not None else None),
            )
    except IntegrityError:
        raise Conflict("Memory entry already exists") from None
    _set_tags(entry, entry.tags)
    _emit(entry, "memory.created", _summary(entry, version=1, tags=entry.tags), principal.id)
    return entry


@transaction.atomic
def memory_update(*, principal: Principal, entry_id: Any, expected_version: int, value: dict | None = None,
                  tags: list[str] | None = None, pinned: bool | None = None, priority: str | None = None,
                  ttl: str | None = None, expires_at=None) -> MemoryEntry:
    from intents.services import _as_uuid

    _check_enum(priority, MemoryPriority, ("body", "priority"))
    seconds = ttl_seconds(ttl)
    size = _size(value) if value is not None else None
    pk = _as_uuid(entry_id)
    now = timezone.now()
    entry, intent = _lock_entry(pk)
    if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
        raise NotFound(MEMORY_NOT_FOUND)
    _require_write(principal, entry.agent_id, memory_type=entry.memory_type, namespace=entry.namespace)
    if entry.version != expected_version:
        raise VersionConflict(current_version=entry.version)
    if value is not None:
        entry.value, entry.size_bytes = value, size
    if tags is not None:
        entry.tags = list(tags)
        _set_tags(entry, entry.tags)
    if pinned is not None:
        entry.pinned = pinned
    if priority is not None:
        entry.priority = priority
    if ttl is not None:
        entry.ttl = ttl
        entry.expires_at = now + timedelta(seconds=seconds) if seconds is not None else None
    if expires_at is not None:
        entry.expires_at = expires_at
    entry.version += 1
    entry.updated_at = entry.last_accessed_at = now
    entry.save()
    _emit(entry, "memory.updated", _summary(entry, version=entry.version, previous_version=entry.version - 1, tags=entry.tags), principal.id, intent=intent)
    return entry


@transaction.atomic
def memory_delete(*, principal: Principal, entry_id: Any) -> str:
    from intents.services import _as_uuid

    pk = _as_uuid(entry_id)
    entry, intent = _lock_entry(pk)
    if entry is None or (entry.expires_at is not None and entry.expires_at <= timezone.now()):
        raise NotFound(MEMORY_NOT_FOUND)
    _require_write(principal, entry.agent_id, memory_type=entry.memory_type, namespace=entry.namespace)
    _emit(entry, "memory.deleted", _summary(entry, version=entry.version), principal.id, intent=intent)
    entry.delete()
    return str(pk)


def memory_recall(*, principal: Principal, agent_id: str, namespace: str | None = None, memory_type: str | None = None,
                  tags: list[str] | None = None, tags_any: list[str] | None = None, key: str | None = None,
                  task_id: str | None = None, intent_id: str | None = None, pinned: bool | None = None,
                  updated_after=None, updated_before=None, text: str | None = None,
                  limit: int = 100, offset: int = 0) -> list[MemoryEntry]:
    """GET /agents/{id}/memory: every filter is AND-ed; ``tags`` needs all, ``tags_any`` one.
    Newest update first, then id, so pages are stable. Another agent's private tiers are
    left out (15 §3)."""
    now = timezone.now()
    entries = MemoryEntry.objects.filter(agent_id=agent_id).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if not principal.may_act_for(agent_id):
        entries = entries.filter(memory_type=MemoryType.SEMANTIC)
        for pattern in settings.OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS or {}:
            probe = pattern[:-1] if pattern.endswith("*") else pattern
            if namespace_access(principal, probe) < ACCESS_LEVELS["read"]:
                entries = entries.exclude(namespace__startswith=probe) if pattern.endswith("*") else entries.exclude(namespace=probe)
    if namespace:
        entries = entries.filter(namespace__startswith=namespace[:-1]) if namespace.endswith("*") else entries.filter(namespace=namespace)
    if memory_type:
        entries = entries.filter(memory_type=memory_type)
    for tag in tags or []:
        entries = entries.filter(Exists(MemoryTag.objects.filter(entry=OuterRef("pk"), tag=tag)))
    if tags_any:
        entries = entries.filter(Exists(MemoryTag.objects.filter(entry=OuterRef("pk"), tag__in=tags_any)))
    if key:
        entries = entries.filter(key=key)
    if task_id:
        entries = entries.filter(scope_task_id=task_id)
    if intent_id:
        entries = entries.filter(scope_intent_id=intent_id)
    if pinned is not None:
        entries = entries.filter(pinned=pinned)
    if updated_after:
        entries = entries.filter(updated_at__gt=updated_after)
    if updated_before:
        entries = entries.filter(updated_at__lt=updated_before)
    if text:
        entries = entries.filter(Q(key__icontains=text) | Q(namespace__icontains=text) | Q(value__icontains=text))
    return list(entries.order_by("-updated_at", "-id")[offset:offset + limit])


# --- lifecycle (15 §4) --------------------------------------------------------------------

def memory_expire_one(entry_id) -> bool:
    """Delete one expired entry with its ``memory.expired`` event; idempotent."""
    with transaction.atomic():
        entry, intent = _lock_entry(entry_id, skip_locked=True, expires_at__lte=timezone.now())
        if entry is None:
            return False
        _emit(entry, "memory.expired", _summary(entry, expires_at=format_timestamp(entry.expires_at)), "system", intent=intent)
        entry.delete()
        return True


def memory_expiry_sweep() -> int:
    ids = list(MemoryEntry.objects.filter(expires_at__lte=timezone.now()).values_list("pk", flat=True)[:5000])
    return sum(memory_expire_one(pk) for pk in ids)


def memory_archive_for_task(*, intent, task) -> int:
    """Archive then delete the task's working (and ``task_lifetime``) entries: one
    ``memory.archived`` per owning agent, values left out. In the caller's transaction."""
    entries = list(
        MemoryEntry.objects.select_for_update().filter(scope_task_id=str(task.pk))
        .filter(Q(memory_type=MemoryType.WORKING) | Q(ttl=TASK_LIFETIME)).order_by("agent_id", "namespace", "key")
    )
    if not entries:
        return 0
    archive = (task.memory_policy or {}).get("archive_on_completion", True) if isinstance(task.memory_policy, dict) else True
    if archive and intent is not None:
        from intents import events

        by_agent: dict[str, list[MemoryEntry]] = {}
        for entry in entries:
            by_agent.setdefault(entry.agent_id, []).append(entry)
        for agent_id, rows in by_agent.items():
            events.record(intent, "memory.archived", "system", {
                "task_id": str(task.pk), "agent_id": agent_id, "entries_archived": len(rows),
                "snapshot": [{"namespace": e.namespace, "key": e.key, "tags": e.tags, "version": e.version} for e in rows],
            })
    MemoryEntry.objects.filter(pk__in=[e.pk for e in entries]).delete()
    return len(entries)


def memory_cleanup_sweep() -> int:
    """Safety sweep: working memory of tasks that are final or gone (15 §4)."""
    from intents.models import Task
    from intents.services import _as_uuid, intent_lock

    task_ids = set(MemoryEntry.objects.filter(scope_task_id__isnull=False).filter(
        Q(memory_type=MemoryType.WORKING) | Q(ttl=TASK_LIFETIME)).values_list("scope_task_id", flat=True).distinct())
    cleaned = 0
    for raw in task_ids:
        pk = _as_uuid(raw)
        with transaction.atomic():
            task = Task.objects.filter(pk=pk).first() if pk else None
            if task is None:
                cleaned += MemoryEntry.objects.filter(scope_task_id=raw).filter(Q(memory_type=MemoryType.WORKING) | Q(ttl=TASK_LIFETIME)).delete()[0]
            elif task.is_final:
                cleaned += memory_archive_for_task(intent=intent_lock(task.intent_id), task=task)
    return cleaned
