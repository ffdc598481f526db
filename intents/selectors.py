"""Reads for intents, events and the intent graph (RFC-0001/0002)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from .models import Assignment, Dependency, Event, Intent, IntentStatus
from .services import _as_uuid, intent_get


def intent_list(
    *, status: str | None = None, created_by: str | None = None, parent_id: str | None = None,
    limit: int = 50, offset: int = 0, readable=None,
) -> tuple[list[Intent], int]:
    queryset = Intent.objects.all() if readable is None else Intent.objects.filter(readable)
    if status:
        queryset = queryset.filter(status=status)
    if created_by:
        queryset = queryset.filter(created_by=created_by)
    if parent_id:
        parent = _as_uuid(parent_id)
        if parent is None:
            return [], 0
        queryset = queryset.filter(parent_id=parent)
    total = queryset.count()
    page = list(queryset.order_by("-created_at", "-id")[offset : offset + limit])
    return list(page), total


def event_list(
    *, intent_id: str, event_type: str | None = None, since: datetime | None = None,
    limit: int = 100, offset: int = 0,
):
    """A queryset of the intent's events, newest first. An unknown intent simply has no
    events (REF answers 200 [])."""
    pk = _as_uuid(intent_id)
    if pk is None:
        return Event.objects.none()
    queryset = Event.objects.filter(intent_id=pk)
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    if since is not None:
        queryset = queryset.filter(created_at__gt=since)
    return queryset.order_by("-sequence")[offset : offset + limit]


def assignment_list(*, intent_id: str) -> list[Assignment]:
    pk = _as_uuid(intent_id)
    return list(Assignment.objects.filter(intent_id=pk).order_by("assigned_at")) if pk else []


def children(intent_id: str) -> list[Intent]:
    parent = intent_get(intent_id)
    return list(parent.children.order_by("created_at", "id"))


def _children_by_parent(root: Intent) -> dict:
    """Every intent below ``root``, grouped by parent, one query per tree level."""
    by_parent: dict = defaultdict(list)
    frontier = [root.pk]
    while frontier:
        level = list(Intent.objects.filter(parent_id__in=frontier).order_by("created_at", "id"))
        for intent in level:
            by_parent[intent.parent_id].append(intent)
        frontier = [intent.pk for intent in level]
    return by_parent


def descendants(intent_id: str) -> list[Intent]:
    """Pre-order: each child, then its descendants, then the next child (02)."""
    root = intent_get(intent_id)
    by_parent = _children_by_parent(root)
    ordered: list[Intent] = []

    def visit(node_id) -> None:
        for child in by_parent.get(node_id, []):
            ordered.append(child)
            visit(child.pk)

    visit(root.pk)
    return list(ordered)


def ancestors(intent_id: str) -> list[Intent]:
    """Parent, grandparent, … nearest first."""
    node = intent_get(intent_id)
    chain: list[Intent] = []
    seen = {node.pk}
    while node.parent_id and node.parent_id not in seen:
        node = Intent.objects.get(pk=node.parent_id)
        seen.add(node.pk)
        chain.append(node)
    return list(chain)


def _intents_by_id(ids) -> dict:
    pks = [pk for pk in (_as_uuid(i) for i in ids) if pk]
    return {str(intent.pk): intent for intent in Intent.objects.filter(pk__in=pks)}


def dependencies(intent_id: str) -> list[Intent]:
    """The intents in ``depends_on`` that exist, in ``depends_on`` order."""
    intent = intent_get(intent_id)
    found = _intents_by_id(intent.depends_on)
    return list(found[dep] for dep in intent.depends_on if dep in found)


def dependents(intent_id: str) -> list[Intent]:
    intent = intent_get(intent_id)
    ids = Dependency.objects.filter(depends_on_id=str(intent.pk)).values_list("intent_id", flat=True)
    return list(Intent.objects.filter(pk__in=list(ids)).order_by("created_at", "id"))


def ready_and_blocked(intent_id: str) -> tuple[list[Intent], list[Intent]]:
    """Children whose every dependency exists and is completed are ready; the rest are
    blocked. The child's own status is ignored (02)."""
    kids = children(intent_id)
    dep_ids = {dep for kid in kids for dep in kid.depends_on}
    statuses = {key: intent.status for key, intent in _intents_by_id(dep_ids).items()}
    ready, blocked = [], []
    for kid in kids:
        ok = all(statuses.get(dep) == IntentStatus.COMPLETED for dep in kid.depends_on)
        (ready if ok else blocked).append(kid)
    return ready, blocked


def graph(intent_id: str) -> dict:
    """Depth-first from the intent: node, parent edge, dependency edges (visiting each
    dependency, upstream), then children (02, "GET …/graph")."""
    root = intent_get(intent_id)
    cache: dict[str, Intent | None] = {str(root.pk): root}
    child_cache: dict[str, list[Intent]] = {}
    nodes: list[dict] = []
    edges: list[dict] = []
    visited: set[str] = set()

    def load(ids) -> None:
        wanted = [i for i in ids if i not in cache]
        if wanted:
            found = _intents_by_id(wanted)
            for i in wanted:
                cache[i] = found.get(i)

    def kids(node: Intent) -> list[Intent]:
        key = str(node.pk)
        if key not in child_cache:
            child_cache[key] = list(node.children.order_by("created_at", "id"))
            for child in child_cache[key]:
                cache.setdefault(str(child.pk), child)
        return child_cache[key]

    # The recursion of REF, kept exact, on an explicit stack of pending steps so that deep
    # graphs cannot hit Python's recursion limit.
    stack = [iter([("visit", str(root.pk))])]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            continue
        kind, value = step
        if kind == "edge":
            edges.append(value)
            continue
        node = cache.get(value)
        if node is None or value in visited:
            continue
        visited.add(value)
        parent = str(node.parent_id) if node.parent_id else None
        nodes.append({"id": value, "title": node.title, "status": node.status, "parent_id": parent, "depends_on": list(node.depends_on)})
        if parent:
            edges.append({"from": parent, "to": value, "type": "parent"})
        load(node.depends_on)
        pending: list = []
        for dep in node.depends_on:
            pending += [("edge", {"from": dep, "to": value, "type": "dependency"}), ("visit", dep)]
        pending += [("visit", str(child.pk)) for child in kids(node)]
        stack.append(iter(pending))

    by_status: dict[str, int] = defaultdict(int)
    for node in nodes:
        by_status[node["status"]] += 1
    total = len(nodes)
    completed = by_status.get(IntentStatus.COMPLETED, 0)
    return {
        "root_id": str(root.pk),
        "nodes": nodes,
        "edges": edges,
        "aggregate_status": {
            "total": total,
            "by_status": dict(by_status),
            "completion_percentage": int(completed / total * 100) if total else 0,
        },
    }
