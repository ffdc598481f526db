"""Endpoint groups of :class:`~openintent_sdk.Client`, one per protocol area (spec 01–17)."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import models as m
from .errors import ConflictError, NotFoundError
from .models import _list
from .validation import (
    invalid, require_choice, require_dict, require_duration, require_id, require_non_negative, require_str_list,
    require_text, require_version,
)

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

API = "/api/v1"

TASK_STATUSES = ("pending", "ready", "claimed", "running", "blocked", "completed", "failed", "cancelled", "skipped")
PLAN_STATES = ("draft", "active", "paused", "completed", "failed", "cancelled")
PERMISSIONS = ("read", "write", "admin")
PRINCIPAL_TYPES = ("agent", "user", "group")
MEMORY_TYPES = ("working", "episodic", "semantic")
AGENT_STATUSES = ("active", "draining", "unhealthy", "dead", "deregistered")
TRIGGER_TYPES = ("schedule", "event", "webhook")
RETRY_STRATEGIES = ("none", "fixed", "exponential", "linear")
PORTFOLIO_STATUSES = ("active", "completed", "abandoned")
MEMBER_ROLES = ("primary", "member", "dependency")


def _clean(body: dict) -> dict:
    """Drop ``None`` values: the server then applies its defaults."""
    return {k: v for k, v in body.items() if v is not None}


def _iso(value: Any) -> Any:
    """datetimes → naive-UTC ISO strings (the protocol's format); anything else unchanged."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    return value


def _if_match(version: int) -> dict[str, str]:
    return {"If-Match": str(require_version(version))}


class Resource:
    def __init__(self, client: "Client") -> None:
        self._client = client

    @property
    def _t(self):
        return self._client.transport

    def _get(self, path: str, **params: Any) -> Any:
        return self._t.request("GET", API + path, params=params or None)

    def _post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._t.request("POST", API + path, json_body={} if body is None else body, **kw)

    def _put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._t.request("PUT", API + path, json_body={} if body is None else body, **kw)

    def _patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self._t.request("PATCH", API + path, json_body={} if body is None else body, **kw)

    def _delete(self, path: str, **kw: Any) -> Any:
        return self._t.request("DELETE", API + path, **kw)

    def _versioned(self, read_version: Callable[[], int], call: Callable[[int], Any], version: int | None,
                   retry_on_conflict: bool, max_attempts: int) -> Any:
        """Run ``call(version)``; read the version first when not given; on a 409 version
        conflict re-read and retry when asked."""
        attempt = 0
        while True:
            attempt += 1
            current = version if version is not None else read_version()
            try:
                return call(current)
            except ConflictError as exc:
                if not retry_on_conflict or attempt >= max_attempts or type(exc).__name__ == "LeaseConflictError":
                    raise
                version = exc.current_version if isinstance(exc.current_version, int) else None
                time.sleep(min(0.05 * attempt, 0.5))


# --- RFC-0001/0002/0025 ---------------------------------------------------------------------

class Intents(Resource):
    """Intents, state, status, agent assignment, graphs, suspension (spec 01, 02)."""

    def create(self, title: str, *, description: str = "", state: dict | None = None,
               constraints: dict | None = None, status: str | None = None, parent_id: str | None = None,
               depends_on: Iterable[str] | None = None, governance_policy: dict | None = None,
               created_by: str | None = None) -> m.Intent:
        require_text("title", title, hint=" (every intent needs a title)")
        if state is not None:
            require_dict("state", state)
        if constraints is not None:
            require_dict("constraints", constraints)
        if status is not None:
            require_choice("status", status, m.INTENT_STATUSES)
        if not isinstance(description, str):
            require_text("description", description)
        body = _clean({
            "title": title, "description": description, "state": state, "constraints": constraints,
            "status": status, "parent_intent_id": parent_id,
            "depends_on": require_str_list("depends_on", depends_on) if depends_on is not None else None,
            "governance_policy": governance_policy,
            "created_by": created_by or self._client.agent_id,
        })
        return m.Intent.from_dict(self._post("/intents", body))

    def list(self, *, status: str | None = None, limit: int = 50, offset: int = 0,
             created_by: str | None = None, parent_id: str | None = None) -> m.IntentPage:
        if status is not None:
            require_choice("status", status, m.INTENT_STATUSES)
        if not 1 <= limit <= 1000:
            raise invalid("limit (1..1000)", limit)
        require_non_negative("offset", offset)
        return m.IntentPage.from_dict(self._get("/intents", status=status, limit=limit, offset=offset,
                                                created_by=created_by, parent_id=parent_id))

    def iter_all(self, *, status: str | None = None, page_size: int = 100):
        """Every intent, paging through ``list``."""
        offset = 0
        while True:
            page = self.list(status=status, limit=page_size, offset=offset)
            yield from page.intents
            offset += len(page.intents)
            if not page.intents or offset >= page.total:
                return

    def get(self, intent_id: str) -> m.Intent:
        return m.Intent.from_dict(self._get(f"/intents/{require_id('intent_id', intent_id)}"))

    def patch_state(self, intent_id: str, patches: list[dict], *, version: int | None = None,
                    retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Intent:
        """Apply raw patch ops (``{"op": "set"|"append"|"remove", "path", "value"}``)."""
        require_id("intent_id", intent_id)
        if not isinstance(patches, list):
            raise invalid("patches (a list of {op, path, value} dicts)", patches)
        for i, op in enumerate(patches):
            if not isinstance(op, dict):
                raise invalid(f"patches[{i}] (a dict)", op)
            require_choice(f"patches[{i}].op", op.get("op"), ("set", "append", "remove"))
            require_text(f"patches[{i}].path", op.get("path"))
        return self._versioned(
            lambda: self.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._post(f"/intents/{intent_id}/state", {"patches": patches},
                                                    headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def update_state(self, intent_id: str, patch: dict | Callable[[m.Intent], dict], *,
                     version: int | None = None, retry_on_conflict: bool = False,
                     max_attempts: int = 5) -> m.Intent:
        """Set top-level keys of the state. ``patch`` may be a dict or a function of the current
        intent returning one (it is re-evaluated on each retry). Without ``version`` the
        current one is read first; with ``retry_on_conflict`` a 409 re-reads and retries."""
        require_id("intent_id", intent_id)
        if not callable(patch):
            require_dict("patch", patch)

        def read() -> int:
            return self.get(intent_id).version

        def call(v: int) -> m.Intent:
            values = patch
            if callable(patch):
                intent = self.get(intent_id)
                v = intent.version
                values = require_dict("patch()", patch(intent))
            ops = [{"op": "set", "path": key, "value": value} for key, value in values.items()]
            return m.Intent.from_dict(self._post(f"/intents/{intent_id}/state", {"patches": ops},
                                                 headers=_if_match(v)))

        if callable(patch):
            return self._versioned(lambda: 1, call, 1, retry_on_conflict, max_attempts)
        return self._versioned(read, call, version, retry_on_conflict, max_attempts)

    def set_status(self, intent_id: str, status: str, *, reason: str | None = None, version: int | None = None,
                   retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Intent:
        require_id("intent_id", intent_id)
        require_choice("status", status, m.INTENT_STATUSES)
        body = _clean({"status": status, "reason": reason})
        return self._versioned(
            lambda: self.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._post(f"/intents/{intent_id}/status", body, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def complete(self, intent_id: str, **kw: Any) -> m.Intent:
        return self.set_status(intent_id, "completed", **{"retry_on_conflict": True, **kw})

    def abandon(self, intent_id: str, reason: str | None = None, **kw: Any) -> m.Intent:
        return self.set_status(intent_id, "abandoned", reason=reason, **{"retry_on_conflict": True, **kw})

    # agents
    def assign_agent(self, intent_id: str, agent_id: str | None = None, *, role: str = "worker") -> m.Assignment:
        agent_id = agent_id or self._client.agent_id
        require_id("agent_id", agent_id)
        return m.Assignment.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/agents",
                                                 {"agent_id": agent_id, "role": require_text("role", role)}))

    def agents(self, intent_id: str) -> list[m.Assignment]:
        return _list(m.Assignment, self._get(f"/intents/{require_id('intent_id', intent_id)}/agents"), "agents")

    def unassign_agent(self, intent_id: str, agent_id: str | None = None) -> None:
        agent_id = agent_id or self._client.agent_id
        self._delete(f"/intents/{require_id('intent_id', intent_id)}/agents/{require_id('agent_id', agent_id)}")

    # graph (02)
    def create_child(self, parent_id: str, title: str, *, description: str = "", state: dict | None = None,
                     constraints: dict | None = None, depends_on: Iterable[str] | None = None) -> m.Intent:
        require_text("title", title, hint=" (every intent needs a title)")
        body = _clean({"title": title, "description": description, "state": state, "constraints": constraints,
                       "depends_on": list(depends_on) if depends_on is not None else None})
        return m.Intent.from_dict(self._post(f"/intents/{require_id('parent_id', parent_id)}/children", body))

    def _relation(self, intent_id: str, name: str) -> list[m.Intent]:
        return _list(m.Intent, self._get(f"/intents/{require_id('intent_id', intent_id)}/{name}"), name)

    def children(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "children")

    def descendants(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "descendants")

    def ancestors(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "ancestors")

    def dependencies(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "dependencies")

    def dependents(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "dependents")

    def ready(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "ready")

    def blocked(self, intent_id: str) -> list[m.Intent]:
        return self._relation(intent_id, "blocked")

    def graph(self, intent_id: str) -> m.Graph:
        return m.Graph.from_dict(self._get(f"/intents/{require_id('intent_id', intent_id)}/graph"))

    def add_dependency(self, intent_id: str, dependency_id: str, *, version: int | None = None,
                       retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Intent:
        require_id("intent_id", intent_id)
        require_id("dependency_id", dependency_id)
        return self._versioned(
            lambda: self.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._post(f"/intents/{intent_id}/dependencies",
                                                    {"dependency_id": dependency_id}, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def remove_dependency(self, intent_id: str, dependency_id: str, *, version: int | None = None,
                          retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Intent:
        require_id("intent_id", intent_id)
        require_id("dependency_id", dependency_id)
        return self._versioned(
            lambda: self.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._delete(f"/intents/{intent_id}/dependencies/{dependency_id}",
                                                      headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def respond(self, intent_id: str, suspension_id: str, value: Any, *, responded_by: str | None = None,
                metadata: dict | None = None) -> m.SuspensionResponse:
        """Answer a pending RFC-0025 suspension (resumes the intent)."""
        require_text("suspension_id", suspension_id)
        body = _clean({"suspension_id": suspension_id, "value": value, "responded_by": responded_by,
                       "metadata": metadata})
        body.setdefault("value", None)
        return m.SuspensionResponse.from_dict(
            self._post(f"/intents/{require_id('intent_id', intent_id)}/suspend/respond", body))

    def portfolios(self, intent_id: str) -> list[m.Portfolio]:
        return _list(m.Portfolio, self._get(f"/intents/{require_id('intent_id', intent_id)}/portfolios"), "portfolios")


class Events(Resource):
    """The intent event log (spec 01)."""

    def log(self, intent_id: str, event_type: str, payload: dict | None = None, *, actor: str | None = None,
            trace_id: str | None = None, parent_event_id: str | None = None) -> m.Event:
        require_text("event_type", event_type)
        if len(event_type) > 100:
            raise invalid("event_type (at most 100 characters)", event_type)
        actor = actor or self._client.agent_id
        require_text("actor", actor or "", hint=" (give actor= or create the client with an agent_id)")
        body = _clean({"event_type": event_type, "actor": actor, "payload": payload or {},
                       "trace_id": trace_id, "parent_event_id": parent_event_id})
        return m.Event.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/events", body))

    def list(self, intent_id: str, *, event_type: str | None = None, since: datetime | str | None = None,
             limit: int = 100, offset: int = 0) -> list[m.Event]:
        if not 1 <= limit <= 1000:
            raise invalid("limit (1..1000)", limit)
        require_non_negative("offset", offset)
        return _list(m.Event, self._get(f"/intents/{require_id('intent_id', intent_id)}/events",
                                        event_type=event_type, since=_iso(since), limit=limit, offset=offset),
                     "events")


class Leases(Resource):
    """Scope leases (spec 03). See also :meth:`Client.lease` for the context manager."""

    def acquire(self, intent_id: str, scope: str, duration_seconds: int = 300) -> m.Lease:
        require_text("scope", scope, hint=" (name what the lease protects, e.g. 'research')")
        require_duration("duration_seconds", duration_seconds)
        return m.Lease.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/leases",
                                            {"scope": scope, "duration_seconds": duration_seconds}))

    def list(self, intent_id: str, *, status: str | None = None) -> list[m.Lease]:
        leases = _list(m.Lease, self._get(f"/intents/{require_id('intent_id', intent_id)}/leases"), "leases")
        return [lease for lease in leases if status is None or lease.status == status]

    def renew(self, intent_id: str, lease_id: str, duration_seconds: int = 300) -> m.Lease:
        require_duration("duration_seconds", duration_seconds)
        return m.Lease.from_dict(self._patch(
            f"/intents/{require_id('intent_id', intent_id)}/leases/{require_id('lease_id', lease_id)}",
            {"duration_seconds": duration_seconds}))

    def release(self, intent_id: str, lease_id: str) -> None:
        self._delete(f"/intents/{require_id('intent_id', intent_id)}/leases/{require_id('lease_id', lease_id)}")


class Governance(Resource):
    """Arbitration and decisions (spec 04), governance policy, approvals and escalations (13)."""

    def request_arbitration(self, intent_id: str, reason: str, *, context: dict | None = None,
                            options: list[dict] | None = None, requested_by: str | None = None) -> m.Arbitration:
        require_text("reason", reason)
        body = _clean({"reason": reason, "context": context or {}, "options": options, "requested_by": requested_by})
        return m.Arbitration.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/arbitrate", body))

    def arbitrations(self, intent_id: str) -> list[m.Arbitration]:
        return _list(m.Arbitration, self._get(f"/intents/{require_id('intent_id', intent_id)}/arbitration"),
                     "arbitrations")

    def record_decision(self, intent_id: str, decision_type: str, outcome: Any, *, rationale: str = "",
                        decided_by: str | None = None, arbitration_id: str | None = None,
                        evidence: Any = None) -> m.Decision:
        require_text("decision_type", decision_type)
        if outcome is None:
            raise invalid("outcome (must not be None)", outcome)
        body = _clean({"decision_type": decision_type, "outcome": outcome, "rationale": rationale,
                       "decided_by": decided_by, "arbitration_id": arbitration_id, "evidence": evidence})
        return m.Decision.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/decisions", body))

    def decisions(self, intent_id: str, *, limit: int = 50) -> list[m.Decision]:
        return _list(m.Decision, self._get(f"/intents/{require_id('intent_id', intent_id)}/decisions", limit=limit),
                     "decisions")

    def get_policy(self, intent_id: str) -> m.GovernanceInfo:
        return m.GovernanceInfo.from_dict(self._get(f"/intents/{require_id('intent_id', intent_id)}/governance"))

    def set_policy(self, intent_id: str, policy: dict, *, version: int | None = None,
                   retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Intent:
        require_id("intent_id", intent_id)
        require_dict("policy", policy)
        return self._versioned(
            lambda: self._client.intents.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._put(f"/intents/{intent_id}/governance", policy, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def remove_policy(self, intent_id: str, *, version: int | None = None, retry_on_conflict: bool = False,
                      max_attempts: int = 5) -> m.Intent:
        require_id("intent_id", intent_id)
        return self._versioned(
            lambda: self._client.intents.get(intent_id).version,
            lambda v: m.Intent.from_dict(self._delete(f"/intents/{intent_id}/governance", headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def request_approval(self, intent_id: str, action: str, *, reason: str = "", context: dict | None = None,
                         requested_by: str | None = None) -> m.Approval:
        require_text("action", action)
        body = _clean({"action": action, "reason": reason, "context": context or {}, "requested_by": requested_by})
        return m.Approval.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/approvals", body))

    def get_approval(self, intent_id: str, approval_id: str) -> m.Approval:
        return m.Approval.from_dict(self._get(
            f"/intents/{require_id('intent_id', intent_id)}/approvals/{require_id('approval_id', approval_id)}"))

    def approve(self, intent_id: str, approval_id: str, *, notes: str | None = None) -> m.Approval:
        return m.Approval.from_dict(self._post(
            f"/intents/{require_id('intent_id', intent_id)}/approvals/{require_id('approval_id', approval_id)}/approve",
            _clean({"notes": notes})))

    def deny(self, intent_id: str, approval_id: str, *, notes: str | None = None) -> m.Approval:
        return m.Approval.from_dict(self._post(
            f"/intents/{require_id('intent_id', intent_id)}/approvals/{require_id('approval_id', approval_id)}/deny",
            _clean({"notes": notes})))

    def escalate(self, intent_id: str, reason: str, *, priority: str = "medium", urgency: str = "medium",
                 context: dict | None = None, escalated_by: str | None = None) -> m.Escalation:
        require_text("reason", reason)
        body = _clean({"reason": reason, "priority": priority, "urgency": urgency, "context": context or {},
                       "escalated_by": escalated_by})
        return m.Escalation.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/escalations", body))

    def escalations(self, *, intent_id: str | None = None, status: str | None = None) -> list[m.Escalation]:
        return _list(m.Escalation, self._get("/escalations", intent_id=intent_id, status=status), "escalations")

    def resolve_escalation(self, escalation_id: str, resolution: str, *, notes: str | None = None,
                           resolved_by: str | None = None) -> m.Escalation:
        require_text("resolution", resolution)
        body = _clean({"resolution": resolution, "notes": notes, "resolved_by": resolved_by})
        return m.Escalation.from_dict(self._post(
            f"/escalations/{require_id('escalation_id', escalation_id)}/resolve", body))


class Attachments(Resource):
    """Attachment metadata and content (spec 05)."""

    def add(self, intent_id: str, filename: str, *, mime_type: str = "application/octet-stream",
            size: int | None = None, storage_url: str | None = None, content: bytes | None = None,
            metadata: dict | None = None, description: str | None = None) -> m.Attachment:
        """Attach a file by reference (``storage_url`` + ``size``) or by value (``content``)."""
        require_text("filename", filename)
        require_text("mime_type", mime_type)
        if content is None and storage_url is None:
            raise invalid("storage_url or content (give one)", None)
        body: dict[str, Any] = {"filename": filename, "mime_type": mime_type, "metadata": metadata or {}}
        if content is not None:
            if not isinstance(content, (bytes, bytearray)):
                raise invalid("content (bytes)", type(content).__name__)
            body["content_base64"] = base64.b64encode(bytes(content)).decode()
            body["content_type"] = mime_type
            body["size"] = len(content) if size is None else require_non_negative("size", size)
        else:
            body["size"] = require_non_negative("size", size if size is not None else 0)
        if storage_url is not None:
            body["storage_url"] = storage_url
        if description is not None:
            body["description"] = description
        return m.Attachment.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/attachments", body))

    def list(self, intent_id: str) -> list[m.Attachment]:
        return _list(m.Attachment, self._get(f"/intents/{require_id('intent_id', intent_id)}/attachments"),
                     "attachments")

    def content(self, intent_id: str, attachment_id: str) -> bytes:
        return self._t.request("GET", f"{API}/intents/{require_id('intent_id', intent_id)}/attachments/"
                               f"{require_id('attachment_id', attachment_id)}/content", expect_json=False)

    def delete(self, intent_id: str, attachment_id: str) -> None:
        self._delete(f"/intents/{require_id('intent_id', intent_id)}/attachments/{require_id('attachment_id', attachment_id)}")


class Subscriptions(Resource):
    """Webhook subscriptions (spec 06 §2). For SSE streams see :meth:`Client.stream`."""

    def create(self, *, intent_id: str | None = None, portfolio_id: str | None = None,
               event_types: Iterable[str] | None = None, webhook_url: str | None = None,
               subscriber_id: str | None = None, expires_at: datetime | str | None = None) -> m.Subscription:
        if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
            raise invalid("webhook_url (an http(s):// URL)", webhook_url)
        body = _clean({"intent_id": intent_id, "portfolio_id": portfolio_id,
                       "event_types": require_str_list("event_types", event_types) if event_types is not None else None,
                       "webhook_url": webhook_url, "subscriber_id": subscriber_id, "expires_at": _iso(expires_at)})
        return m.Subscription.from_dict(self._post("/subscriptions", body))

    def list(self, *, intent_id: str | None = None, portfolio_id: str | None = None) -> list[m.Subscription]:
        return _list(m.Subscription, self._get("/subscriptions", intent_id=intent_id, portfolio_id=portfolio_id),
                     "subscriptions")

    def delete(self, subscription_id: str) -> None:
        self._delete(f"/subscriptions/{require_id('subscription_id', subscription_id)}")


class Portfolios(Resource):
    """Portfolios and membership (spec 07)."""

    def create(self, name: str, *, description: str = "", governance_policy: dict | None = None,
               metadata: dict | None = None, created_by: str | None = None) -> m.Portfolio:
        require_text("name", name, hint=" (every portfolio needs a name)")
        created_by = created_by or self._client.agent_id
        require_text("created_by", created_by or "", hint=" (give created_by= or create the client with an agent_id)")
        body = _clean({"name": name, "description": description, "created_by": created_by,
                       "governance_policy": governance_policy or {}, "metadata": metadata or {}})
        return m.Portfolio.from_dict(self._post("/portfolios", body))

    def list(self, *, created_by: str | None = None) -> list[m.Portfolio]:
        return _list(m.Portfolio, self._get("/portfolios", created_by=created_by), "portfolios")

    def get(self, portfolio_id: str) -> m.Portfolio:
        return m.Portfolio.from_dict(self._get(f"/portfolios/{require_id('portfolio_id', portfolio_id)}"))

    def set_status(self, portfolio_id: str, status: str) -> m.Portfolio:
        require_choice("status", status, PORTFOLIO_STATUSES)
        return m.Portfolio.from_dict(self._patch(f"/portfolios/{require_id('portfolio_id', portfolio_id)}/status",
                                                 {"status": status}))

    def add_intent(self, portfolio_id: str, intent_id: str, *, role: str = "member", priority: int = 0) -> m.Membership:
        require_id("intent_id", intent_id)
        require_choice("role", role, MEMBER_ROLES)
        return m.Membership.from_dict(self._post(f"/portfolios/{require_id('portfolio_id', portfolio_id)}/intents",
                                                 {"intent_id": intent_id, "role": role, "priority": priority}))

    def intents(self, portfolio_id: str) -> list[m.Intent]:
        return _list(m.Intent, self._get(f"/portfolios/{require_id('portfolio_id', portfolio_id)}/intents"), "intents")

    def remove_intent(self, portfolio_id: str, intent_id: str) -> None:
        self._delete(f"/portfolios/{require_id('portfolio_id', portfolio_id)}/intents/{require_id('intent_id', intent_id)}")

    def for_intent(self, intent_id: str) -> list[m.Portfolio]:
        return self._client.intents.portfolios(intent_id)


class Costs(Resource):
    """Cost records (spec 09)."""

    def record(self, intent_id: str, amount: float, *, cost_type: str = "custom", unit: str = "units",
               provider: str | None = None, metadata: dict | None = None, agent_id: str | None = None) -> m.CostRecord:
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise invalid("amount (a number)", amount)
        require_text("cost_type", cost_type)
        require_text("unit", unit)
        body = _clean({"agent_id": agent_id or self._client.agent_id, "cost_type": cost_type, "amount": amount,
                       "unit": unit, "provider": provider, "metadata": metadata or {}})
        return m.CostRecord.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/costs", body))

    def list(self, intent_id: str) -> list[m.CostRecord]:
        return _list(m.CostRecord, self._get(f"/intents/{require_id('intent_id', intent_id)}/costs"), "costs")

    def total(self, intent_id: str, *, unit: str | None = None) -> float:
        return sum(c.amount for c in self.list(intent_id) if unit is None or c.unit == unit)


class Retries(Resource):
    """Retry policy and failure records (spec 10)."""

    def set_policy(self, intent_id: str, strategy: str = "exponential", *, max_retries: int = 3,
                   base_delay_ms: int = 1000, max_delay_ms: int = 60000, jitter: bool = True,
                   fallback_agent_id: str | None = None, failure_threshold: int = 3) -> m.RetryPolicy:
        require_choice("strategy", strategy, RETRY_STRATEGIES)
        for name, value in (("max_retries", max_retries), ("base_delay_ms", base_delay_ms),
                            ("max_delay_ms", max_delay_ms), ("failure_threshold", failure_threshold)):
            require_non_negative(name, value)
        body = _clean({"strategy": strategy, "max_retries": max_retries, "base_delay_ms": base_delay_ms,
                       "max_delay_ms": max_delay_ms, "jitter": jitter, "fallback_agent_id": fallback_agent_id,
                       "failure_threshold": failure_threshold})
        return m.RetryPolicy.from_dict(self._put(f"/intents/{require_id('intent_id', intent_id)}/retry-policy", body))

    def get_policy(self, intent_id: str) -> m.RetryPolicy | None:
        """The policy, or ``None`` when none is set."""
        try:
            return m.RetryPolicy.from_dict(self._get(f"/intents/{require_id('intent_id', intent_id)}/retry-policy"))
        except NotFoundError:
            return None

    def record_failure(self, intent_id: str, error_code: str | None = None, error_message: str | None = None, *,
                       attempt_number: int = 1, agent_id: str | None = None, metadata: dict | None = None,
                       retry_scheduled_at: datetime | str | None = None) -> m.Failure:
        if isinstance(attempt_number, bool) or not isinstance(attempt_number, int) or attempt_number < 1:
            raise invalid("attempt_number (>= 1)", attempt_number)
        body = _clean({"error_code": error_code, "error_type": error_code, "error_message": error_message,
                       "attempt_number": attempt_number, "agent_id": agent_id or self._client.agent_id,
                       "metadata": metadata or {}, "retry_scheduled_at": _iso(retry_scheduled_at)})
        return m.Failure.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/failures", body))

    def failures(self, intent_id: str, *, limit: int | None = None) -> list[m.Failure]:
        return _list(m.Failure, self._get(f"/intents/{require_id('intent_id', intent_id)}/failures", limit=limit),
                     "failures")


class Access(Resource):
    """ACLs and access requests (spec 11)."""

    def get_acl(self, intent_id: str) -> m.ACL:
        return m.ACL.from_dict(self._get(f"/intents/{require_id('intent_id', intent_id)}/acl"))

    def set_acl(self, intent_id: str, *, default_policy: str = "open", entries: list[dict] | None = None) -> m.ACL:
        require_choice("default_policy", default_policy, ("open", "closed"))
        entries = [dict(e) for e in (entries or [])]
        for i, entry in enumerate(entries):
            require_text(f"entries[{i}].principal_id", entry.get("principal_id"))
            if "permission" in entry:
                require_choice(f"entries[{i}].permission", entry["permission"], PERMISSIONS)
            if "expires_at" in entry:
                entry["expires_at"] = _iso(entry["expires_at"])
        return m.ACL.from_dict(self._put(f"/intents/{require_id('intent_id', intent_id)}/acl",
                                         {"default_policy": default_policy, "entries": entries}))

    def grant(self, intent_id: str, principal_id: str, permission: str = "read", *, principal_type: str = "agent",
              reason: str | None = None, expires_at: datetime | str | None = None) -> m.ACLEntry:
        require_text("principal_id", principal_id)
        require_choice("permission", permission, PERMISSIONS)
        require_choice("principal_type", principal_type, PRINCIPAL_TYPES)
        body = _clean({"principal_id": principal_id, "permission": permission, "principal_type": principal_type,
                       "reason": reason, "expires_at": _iso(expires_at)})
        return m.ACLEntry.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/acl/entries", body))

    def revoke(self, intent_id: str, entry_id: str) -> None:
        self._delete(f"/intents/{require_id('intent_id', intent_id)}/acl/entries/{require_id('entry_id', entry_id)}")

    def request_access(self, intent_id: str, permission: str = "write", *, principal_id: str | None = None,
                       reason: str = "", capabilities: Iterable[str] = (), principal_type: str = "agent") -> m.AccessRequest:
        require_choice("permission", permission, PERMISSIONS)
        principal_id = principal_id or self._client.agent_id
        require_text("principal_id", principal_id or "", hint=" (give principal_id= or create the client with an agent_id)")
        body = {"principal_id": principal_id, "principal_type": principal_type, "requested_permission": permission,
                "reason": reason, "capabilities": list(capabilities)}
        return m.AccessRequest.from_dict(self._post(f"/intents/{require_id('intent_id', intent_id)}/access-requests", body))

    def requests(self, intent_id: str) -> list[m.AccessRequest]:
        return _list(m.AccessRequest, self._get(f"/intents/{require_id('intent_id', intent_id)}/access-requests"),
                     "access_requests")

    def approve_request(self, intent_id: str, request_id: str, *, permission: str | None = None,
                        expires_at: datetime | str | None = None, reason: str | None = None,
                        decided_by: str | None = None) -> m.AccessRequest:
        if permission is not None:
            require_choice("permission", permission, PERMISSIONS)
        body = _clean({"decided_by": decided_by or self._client.agent_id or "unknown", "permission": permission,
                       "expires_at": _iso(expires_at), "reason": reason})
        return m.AccessRequest.from_dict(self._post(
            f"/intents/{require_id('intent_id', intent_id)}/access-requests/{require_id('request_id', request_id)}/approve", body))

    def deny_request(self, intent_id: str, request_id: str, *, reason: str | None = None,
                     decided_by: str | None = None) -> m.AccessRequest:
        body = _clean({"decided_by": decided_by or self._client.agent_id or "unknown", "reason": reason})
        return m.AccessRequest.from_dict(self._post(
            f"/intents/{require_id('intent_id', intent_id)}/access-requests/{require_id('request_id', request_id)}/deny", body))


class Tasks(Resource):
    """Tasks (spec 12 §1)."""

    def create(self, intent_id: str, name: str, *, description: str | None = None, plan_id: str | None = None,
               parent_task_id: str | None = None, priority: str = "normal", input: dict | None = None,
               capabilities_required: Iterable[str] = (), depends_on: Iterable[str] = (),
               timeout_seconds: int | None = None, max_attempts: int = 3, memory_policy: dict | None = None,
               requires_tools: list[dict] | None = None, metadata: dict | None = None) -> m.Task:
        require_id("intent_id", intent_id)
        require_text("name", name, hint=" (every task needs a name)")
        if timeout_seconds is not None:
            require_duration("timeout_seconds", timeout_seconds)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise invalid("max_attempts (>= 1)", max_attempts)
        for i, tool in enumerate(requires_tools or []):
            require_text(f"requires_tools[{i}].service", tool.get("service") if isinstance(tool, dict) else None)
        body = _clean({"intent_id": intent_id, "name": name, "description": description, "plan_id": plan_id,
                       "parent_task_id": parent_task_id, "priority": priority, "input": input or {},
                       "capabilities_required": list(capabilities_required), "depends_on": list(depends_on),
                       "timeout_seconds": timeout_seconds, "max_attempts": max_attempts,
                       "memory_policy": memory_policy, "requires_tools": requires_tools or [],
                       "metadata": metadata or {}})
        return m.Task.from_dict(self._post("/tasks", body))

    def get(self, task_id: str) -> m.Task:
        return m.Task.from_dict(self._get(f"/tasks/{require_id('task_id', task_id)}"))

    def list(self, intent_id: str, *, status: str | None = None, limit: int = 100, offset: int = 0) -> list[m.Task]:
        if status is not None:
            require_choice("status", status, TASK_STATUSES)
        return _list(m.Task, self._get(f"/intents/{require_id('intent_id', intent_id)}/tasks", status=status,
                                       limit=limit, offset=offset), "tasks")

    def update(self, task_id: str, *, status: str | None = None, assigned_agent: str | None = None,
               output: dict | None = None, error: str | None = None, blocked_reason: str | None = None,
               version: int | None = None, retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Task:
        require_id("task_id", task_id)
        if status is not None:
            require_choice("status", status, TASK_STATUSES)
        body = _clean({"status": status, "assigned_agent": assigned_agent, "output": output, "error": error,
                       "blocked_reason": blocked_reason})
        return self._versioned(
            lambda: self.get(task_id).version,
            lambda v: m.Task.from_dict(self._patch(f"/tasks/{task_id}", body, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def claim(self, task_id: str, **kw: Any) -> m.Task:
        return self.update(task_id, status="claimed", assigned_agent=self._client.agent_id, **kw)

    def start(self, task_id: str, **kw: Any) -> m.Task:
        return self.update(task_id, status="running", **kw)

    def complete(self, task_id: str, output: dict | None = None, **kw: Any) -> m.Task:
        return self.update(task_id, status="completed", output=output, **kw)

    def fail(self, task_id: str, error: str, **kw: Any) -> m.Task:
        return self.update(task_id, status="failed", error=error, **kw)


class Plans(Resource):
    """Plans (spec 12 §2)."""

    def create(self, intent_id: str, *, tasks: Iterable[str] = (), checkpoints: list[dict] | None = None,
               conditions: list[dict] | None = None, on_failure: str = "pause_and_escalate",
               on_complete: str = "notify", metadata: dict | None = None) -> m.Plan:
        require_id("intent_id", intent_id)
        require_choice("on_failure", on_failure, ("pause_and_escalate", "notify", "fail", "retry"))
        body = {"intent_id": intent_id, "tasks": list(tasks), "checkpoints": checkpoints or [],
                "conditions": conditions or [], "on_failure": on_failure, "on_complete": on_complete,
                "metadata": metadata or {}}
        return m.Plan.from_dict(self._post("/plans", body))

    def get(self, plan_id: str) -> m.Plan:
        return m.Plan.from_dict(self._get(f"/plans/{require_id('plan_id', plan_id)}"))

    def list(self, intent_id: str) -> list[m.Plan]:
        return _list(m.Plan, self._get(f"/intents/{require_id('intent_id', intent_id)}/plans"), "plans")

    def update(self, plan_id: str, *, state: str | None = None, tasks: Iterable[str] | None = None,
               checkpoints: list[dict] | None = None, version: int | None = None,
               retry_on_conflict: bool = False, max_attempts: int = 5, **extra: Any) -> m.Plan:
        require_id("plan_id", plan_id)
        if state is not None:
            require_choice("state", state, PLAN_STATES)
        body = _clean({"state": state, "tasks": list(tasks) if tasks is not None else None,
                       "checkpoints": checkpoints, **extra})
        return self._versioned(
            lambda: self.get(plan_id).version,
            lambda v: m.Plan.from_dict(self._patch(f"/plans/{plan_id}", body, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def activate(self, plan_id: str, **kw: Any) -> m.Plan:
        return self.update(plan_id, state="active", **kw)


class Coordinator(Resource):
    """Coordinator leases and decision records (spec 13 §1–2)."""

    def create_lease(self, *, intent_id: str | None = None, portfolio_id: str | None = None,
                     agent_id: str | None = None, supervisor_id: str | None = None, coordinator_type: str = "llm",
                     scope: str | None = None, guardrails: dict | None = None,
                     heartbeat_interval_seconds: int = 60, expires_at: datetime | str | None = None,
                     metadata: dict | None = None) -> m.CoordinatorLease:
        if intent_id is None and portfolio_id is None:
            raise invalid("intent_id or portfolio_id (give one)", None)
        require_choice("coordinator_type", coordinator_type, ("llm", "human", "composite", "system"))
        require_duration("heartbeat_interval_seconds", heartbeat_interval_seconds)
        agent_id = agent_id or self._client.agent_id
        require_text("agent_id", agent_id or "")
        body = _clean({"agent_id": agent_id, "intent_id": intent_id, "portfolio_id": portfolio_id,
                       "supervisor_id": supervisor_id, "coordinator_type": coordinator_type,
                       "scope": scope or ("portfolio" if portfolio_id and not intent_id else "intent"),
                       "guardrails": guardrails, "heartbeat_interval_seconds": heartbeat_interval_seconds,
                       "expires_at": _iso(expires_at), "metadata": metadata or {}})
        return m.CoordinatorLease.from_dict(self._post("/coordinators", body))

    def get_lease(self, lease_id: str) -> m.CoordinatorLease:
        return m.CoordinatorLease.from_dict(self._get(f"/coordinators/{require_id('lease_id', lease_id)}"))

    def leases(self, intent_id: str) -> list[m.CoordinatorLease]:
        return _list(m.CoordinatorLease, self._get(f"/intents/{require_id('intent_id', intent_id)}/coordinators"),
                     "coordinators")

    def heartbeat(self, lease_id: str, **payload: Any) -> dict:
        return self._post(f"/coordinators/{require_id('lease_id', lease_id)}/heartbeat", payload)

    def record_decision(self, intent_id: str, decision_type: str, summary: str, rationale: str, *,
                        coordinator_id: str | None = None, alternatives_considered: list | None = None,
                        confidence: float | None = None) -> m.DecisionRecord:
        require_text("decision_type", decision_type)
        require_text("summary", summary)
        if confidence is not None and not 0 <= confidence <= 1:
            raise invalid("confidence (0..1)", confidence)
        body = _clean({"coordinator_id": coordinator_id or self._client.agent_id, "intent_id": require_id("intent_id", intent_id),
                       "decision_type": decision_type, "summary": summary, "rationale": rationale,
                       "alternatives_considered": alternatives_considered or [], "confidence": confidence})
        return m.DecisionRecord.from_dict(self._post("/decisions", body))

    def decision_records(self, intent_id: str, *, limit: int = 50) -> list[m.DecisionRecord]:
        return _list(m.DecisionRecord, self._get(f"/intents/{require_id('intent_id', intent_id)}/coordinator-decisions",
                                                 limit=limit), "decisions")


class Vaults(Resource):
    """Credential vaults, grants, invocation log and the tool proxy (spec 14)."""

    def create_vault(self, name: str, *, owner_id: str | None = None) -> m.Vault:
        require_text("name", name)
        owner_id = owner_id or self._client.agent_id
        require_text("owner_id", owner_id or "")
        return m.Vault.from_dict(self._post("/vaults", {"owner_id": owner_id, "name": name}))

    def get_vault(self, vault_id: str) -> m.Vault:
        return m.Vault.from_dict(self._get(f"/vaults/{require_id('vault_id', vault_id)}"))

    def create_credential(self, vault_id: str, service: str, label: str, *, auth_type: str = "api_key",
                          scopes_available: Iterable[str] = (), metadata: dict | None = None,
                          secret: dict | None = None, expires_at: datetime | str | None = None) -> m.Credential:
        require_id("vault_id", vault_id)
        require_text("service", service)
        require_text("label", label)
        body = _clean({"vault_id": vault_id, "service": service, "label": label, "auth_type": auth_type,
                       "scopes_available": list(scopes_available), "metadata": metadata or {},
                       "secret": secret, "expires_at": _iso(expires_at)})
        return m.Credential.from_dict(self._post("/credentials", body))

    def get_credential(self, credential_id: str) -> m.Credential:
        return m.Credential.from_dict(self._get(f"/credentials/{require_id('credential_id', credential_id)}"))

    def create_grant(self, credential_id: str, agent_id: str, *, scopes: Iterable[str] = (),
                     granted_by: str | None = None, constraints: dict | None = None, delegatable: bool = False,
                     context: dict | None = None, expires_at: datetime | str | None = None,
                     delegation_depth: int | None = None) -> m.Grant:
        require_id("credential_id", credential_id)
        require_text("agent_id", agent_id)
        body = _clean({"credential_id": credential_id, "agent_id": agent_id,
                       "granted_by": granted_by or self._client.agent_id or "unknown", "scopes": list(scopes),
                       "constraints": constraints, "delegatable": delegatable, "context": context or {},
                       "expires_at": _iso(expires_at), "delegation_depth": delegation_depth})
        return m.Grant.from_dict(self._post("/grants", body))

    def get_grant(self, grant_id: str) -> m.Grant:
        return m.Grant.from_dict(self._get(f"/grants/{require_id('grant_id', grant_id)}"))

    def agent_grants(self, agent_id: str | None = None) -> list[m.Grant]:
        agent_id = agent_id or self._client.agent_id
        return _list(m.Grant, self._get(f"/agents/{require_id('agent_id', agent_id)}/grants"), "grants")

    def revoke_grant(self, grant_id: str) -> dict:
        return self._delete(f"/grants/{require_id('grant_id', grant_id)}")

    def record_invocation(self, grant_id: str, service: str, tool: str, *, agent_id: str | None = None,
                          parameters: dict | None = None, status: str = "success", result: Any = None,
                          error: dict | None = None, cost: Any = None, duration_ms: int | None = None,
                          idempotency_key: str | None = None, context: dict | None = None) -> m.Invocation:
        require_choice("status", status, ("success", "error", "timeout", "denied"))
        body = _clean({"grant_id": require_id("grant_id", grant_id), "service": require_text("service", service),
                       "tool": require_text("tool", tool), "agent_id": agent_id or self._client.agent_id,
                       "parameters": parameters or {}, "status": status, "result": result, "error": error,
                       "cost": cost, "duration_ms": duration_ms, "idempotency_key": idempotency_key,
                       "context": context or {}})
        # The key is only stored here (the server de-duplicates on tools/invoke, not on this log
        # route), so this POST is not retried.
        return m.Invocation.from_dict(self._post("/invocations", body))

    def invocations(self, grant_id: str, *, limit: int = 50) -> list[m.Invocation]:
        return _list(m.Invocation, self._get(f"/grants/{require_id('grant_id', grant_id)}/invocations", limit=limit),
                     "invocations")

    def invoke(self, tool_name: str, parameters: dict | None = None, *, agent_id: str | None = None,
               grant_id: str | None = None, context: dict | None = None,
               idempotency_key: str | None = None) -> m.ToolResult:
        """Invoke a tool through the server proxy. With an ``idempotency_key`` (pass ``"auto"``
        for a fresh one) the call is also retried on transient failures."""
        require_text("tool_name", tool_name)
        if idempotency_key == "auto":
            idempotency_key = str(uuid.uuid4())
        body = _clean({"tool_name": tool_name, "agent_id": agent_id or self._client.agent_id,
                       "parameters": parameters or {}, "grant_id": grant_id, "context": context,
                       "idempotency_key": idempotency_key})
        return m.ToolResult.from_dict(self._post("/tools/invoke", body, idempotency_key=idempotency_key))


class Memory(Resource):
    """Agent memory (spec 15)."""

    def create(self, namespace: str, key: str, value: dict, *, agent_id: str | None = None,
               memory_type: str = "working", scope: dict | None = None, tags: Iterable[str] = (),
               ttl: str | int | None = None, pinned: bool = False, priority: str = "normal",
               sensitivity: str | None = None) -> m.MemoryEntry:
        require_text("namespace", namespace)
        require_text("key", key)
        require_dict("value", value)
        require_choice("memory_type", memory_type, MEMORY_TYPES)
        require_choice("priority", priority, ("low", "normal", "high"))
        if isinstance(ttl, int):
            ttl = str(require_duration("ttl", ttl))
        body = _clean({"agent_id": agent_id or self._client.agent_id, "namespace": namespace, "key": key,
                       "value": value, "memory_type": memory_type, "scope": scope, "tags": list(tags),
                       "ttl": ttl, "pinned": pinned, "priority": priority, "sensitivity": sensitivity})
        return m.MemoryEntry.from_dict(self._post("/memory", body))

    def get(self, entry_id: str) -> m.MemoryEntry:
        return m.MemoryEntry.from_dict(self._get(f"/memory/{require_id('entry_id', entry_id)}"))

    def list(self, agent_id: str | None = None, *, namespace: str | None = None, memory_type: str | None = None,
             tags: Iterable[str] | None = None, limit: int = 100, offset: int = 0, **filters: Any) -> list[m.MemoryEntry]:
        agent_id = agent_id or self._client.agent_id
        params = {"namespace": namespace, "memory_type": memory_type,
                  "tags": ",".join(tags) if tags else None, "limit": limit, "offset": offset, **filters}
        return _list(m.MemoryEntry, self._get(f"/agents/{require_id('agent_id', agent_id)}/memory", **params), "entries")

    def update(self, entry_id: str, *, value: dict | None = None, tags: Iterable[str] | None = None,
               pinned: bool | None = None, priority: str | None = None, ttl: str | None = None,
               version: int | None = None, retry_on_conflict: bool = False, max_attempts: int = 5) -> m.MemoryEntry:
        require_id("entry_id", entry_id)
        if value is not None:
            require_dict("value", value)
        body = _clean({"value": value, "tags": list(tags) if tags is not None else None, "pinned": pinned,
                       "priority": priority, "ttl": ttl})
        return self._versioned(
            lambda: self.get(entry_id).version,
            lambda v: m.MemoryEntry.from_dict(self._patch(f"/memory/{entry_id}", body, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def delete(self, entry_id: str) -> dict:
        return self._delete(f"/memory/{require_id('entry_id', entry_id)}")


class Agents(Resource):
    """The agent registry and heartbeats (spec 16)."""

    def register(self, agent_id: str | None = None, *, name: str | None = None, role_id: str | None = None,
                 capabilities: Iterable[str] = (), capacity: dict | None = None, endpoint: str | None = None,
                 heartbeat_config: dict | None = None, metadata: dict | None = None,
                 drain_timeout_seconds: int | None = None) -> m.AgentRecord:
        agent_id = agent_id or self._client.agent_id
        require_text("agent_id", agent_id or "", hint=" (give agent_id= or create the client with one)")
        if drain_timeout_seconds is not None:
            require_duration("drain_timeout_seconds", drain_timeout_seconds)
        body = _clean({"agent_id": agent_id, "name": name, "role_id": role_id, "capabilities": list(capabilities),
                       "capacity": capacity, "endpoint": endpoint, "heartbeat_config": heartbeat_config,
                       "metadata": metadata or {}, "drain_timeout_seconds": drain_timeout_seconds})
        return m.AgentRecord.from_dict(self._post("/agents/register", body))

    def get(self, agent_id: str | None = None) -> m.AgentRecord:
        agent_id = agent_id or self._client.agent_id
        return m.AgentRecord.from_dict(self._get(f"/agents/{require_id('agent_id', agent_id)}/record"))

    def list(self, *, status: str | None = None, role_id: str | None = None,
             capabilities: Iterable[str] | None = None) -> list[m.AgentRecord]:
        return _list(m.AgentRecord, self._get("/agents", status=status, role_id=role_id,
                                              capabilities=",".join(capabilities) if capabilities else None), "agents")

    def heartbeat(self, agent_id: str | None = None, *, status: str = "active", current_load: int = 0,
                  tasks_in_progress: Iterable[str] = ()) -> m.Heartbeat:
        agent_id = agent_id or self._client.agent_id
        require_choice("status", status, ("active", "draining"))
        body = {"status": status, "current_load": current_load, "tasks_in_progress": list(tasks_in_progress),
                "client_timestamp": datetime.now(timezone.utc).replace(tzinfo=None).isoformat()}
        return m.Heartbeat.from_dict(self._post(f"/agents/{require_id('agent_id', agent_id)}/heartbeat", body))

    def set_status(self, status: str, agent_id: str | None = None, *, reason: str | None = None,
                   drain_timeout_seconds: int | None = None, version: int | None = None) -> m.AgentRecord:
        agent_id = agent_id or self._client.agent_id
        require_choice("status", status, AGENT_STATUSES)
        body = _clean({"status": status, "reason": reason, "drain_timeout_seconds": drain_timeout_seconds})
        headers = _if_match(version) if version is not None else None
        return m.AgentRecord.from_dict(self._patch(f"/agents/{require_id('agent_id', agent_id)}/status", body,
                                                   headers=headers))

    def drain(self, agent_id: str | None = None, *, reason: str | None = None,
              drain_timeout_seconds: int | None = None) -> m.AgentRecord:
        return self.set_status("draining", agent_id, reason=reason, drain_timeout_seconds=drain_timeout_seconds)


class Triggers(Resource):
    """Triggers (spec 17)."""

    def create(self, name: str, type: str, *, condition: dict | None = None, intent_template: dict | None = None,
               deduplication: str = "allow", namespace: str | None = None, enabled: bool | None = None) -> m.Trigger:
        require_text("name", name)
        require_choice("type", type, TRIGGER_TYPES)
        require_choice("deduplication", deduplication, ("allow", "skip", "queue"))
        if type == "schedule" and not (condition or {}).get("cron") and not (condition or {}).get("at"):
            raise invalid("condition for a schedule trigger (needs 'cron' or 'at')", condition)
        if type == "event" and not (condition or {}).get("event"):
            raise invalid("condition for an event trigger (needs 'event')", condition)
        if type == "webhook" and not (condition or {}).get("path"):
            raise invalid("condition for a webhook trigger (needs 'path')", condition)
        body = _clean({"name": name, "type": type, "condition": condition, "intent_template": intent_template,
                       "deduplication": deduplication, "namespace": namespace, "enabled": enabled})
        return m.Trigger.from_dict(self._post("/triggers", body))

    def get(self, trigger_id: str) -> m.Trigger:
        return m.Trigger.from_dict(self._get(f"/triggers/{require_id('trigger_id', trigger_id)}"))

    def list(self, *, namespace: str | None = None, type: str | None = None,
             enabled: bool | None = None) -> list[m.Trigger]:
        return _list(m.Trigger, self._get("/triggers", namespace=namespace, type=type,
                                          enabled=None if enabled is None else str(enabled).lower()), "triggers")

    def update(self, trigger_id: str, *, enabled: bool | None = None, condition: dict | None = None,
               intent_template: dict | None = None, deduplication: str | None = None,
               version: int | None = None, retry_on_conflict: bool = False, max_attempts: int = 5) -> m.Trigger:
        require_id("trigger_id", trigger_id)
        if deduplication is not None:
            require_choice("deduplication", deduplication, ("allow", "skip", "queue"))
        body = _clean({"enabled": enabled, "condition": condition, "intent_template": intent_template,
                       "deduplication": deduplication})
        return self._versioned(
            lambda: self.get(trigger_id).version,
            lambda v: m.Trigger.from_dict(self._patch(f"/triggers/{trigger_id}", body, headers=_if_match(v))),
            version, retry_on_conflict, max_attempts)

    def fire(self, trigger_id: str, payload: dict | None = None) -> m.TriggerFire:
        body = {"payload": payload} if payload is not None else {}
        return m.TriggerFire.from_dict(self._post(f"/triggers/{require_id('trigger_id', trigger_id)}/fire", body))

    def history(self, trigger_id: str, *, limit: int = 50) -> list[dict]:
        return self._get(f"/triggers/{require_id('trigger_id', trigger_id)}/history", limit=limit)

    def delete(self, trigger_id: str) -> dict:
        return self._delete(f"/triggers/{require_id('trigger_id', trigger_id)}")
