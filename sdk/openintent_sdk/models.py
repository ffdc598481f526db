"""Typed result objects.

Each is a dataclass built with ``from_dict``, which tolerates missing and extra keys: unknown
keys are kept in ``extra`` and the whole server dict stays available as ``raw`` (so new server
fields are never lost). Fields named ``*_at`` (and ``timestamp``, ``last_heartbeat``) are parsed
into naive-UTC ``datetime`` objects when they are ISO strings. ``obj["key"]`` and
``obj.get("key")`` read the raw dict.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="Model")

INTENT_STATUSES = ("draft", "active", "blocked", "suspended_awaiting_input", "completed", "abandoned")


def parse_timestamp(value: Any) -> Any:
    """An ISO timestamp string → naive UTC ``datetime``; anything else is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _is_time_field(name: str) -> bool:
    return name.endswith("_at") or name in ("timestamp", "last_heartbeat")


@dataclass
class Model:
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    extra: dict = field(default_factory=dict, repr=False, compare=False)

    # Alternative server keys for a field: {"field": ("other_key", …)}.
    aliases: ClassVar[dict[str, tuple[str, ...]]] = {}

    @classmethod
    def from_dict(cls: type[T], data: Any) -> T:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__}.from_dict expects a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)} - {"raw", "extra"}
        kwargs: dict[str, Any] = {}
        for name in names:
            present = [k for k in (name, *cls.aliases.get(name, ())) if k in data]
            if not present:
                continue
            key = next((k for k in present if data[k] is not None), present[0])
            value = data[key]
            kwargs[name] = parse_timestamp(value) if _is_time_field(name) else value
        known = names | {k for ks in cls.aliases.values() for k in ks}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(raw=dict(data), extra=extra, **kwargs)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def to_dict(self) -> dict:
        return dict(self.raw)


def _list(cls: type[T], data: Any, key: str | None = None) -> list[T]:
    """A bare array or a ``{"<key>": [...]}`` wrapper → list of models."""
    if isinstance(data, dict):
        data = data.get(key, []) if key else next((v for v in data.values() if isinstance(v, list)), [])
    return [cls.from_dict(item) for item in (data or [])]


# --- RFC-0001/0002 -------------------------------------------------------------------------

@dataclass
class Intent(Model):
    id: str = ""
    title: str = ""
    description: str = ""
    created_by: str | None = None
    parent_id: str | None = None
    depends_on: list[str] = field(default_factory=list)
    constraints: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    status: str = "draft"
    confidence: float | int | None = None
    version: int = 1
    governance_policy: dict | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    aliases: ClassVar = {"parent_id": ("parent_intent_id",)}

    @property
    def is_completed(self) -> bool:
        return self.status == "completed"


@dataclass
class IntentPage(Model):
    intents: list[Intent] = field(default_factory=list)
    total: int = 0
    limit: int = 0
    offset: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> "IntentPage":
        page = super().from_dict(data)
        page.intents = _list(Intent, data.get("intents", []))
        return page


@dataclass
class Event(Model):
    id: str = ""
    intent_id: str = ""
    event_type: str = ""
    actor: str | None = None
    payload: dict = field(default_factory=dict)
    created_at: datetime | None = None
    sequence: int | None = None
    trace_id: str | None = None
    parent_event_id: str | None = None


@dataclass
class Assignment(Model):
    id: str = ""
    intent_id: str = ""
    agent_id: str = ""
    role: str = "worker"
    assigned_at: datetime | None = None


@dataclass
class Graph(Model):
    nodes: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)


@dataclass
class SuspensionResponse(Model):
    intent_id: str = ""
    suspension_id: str = ""
    resolution: str = ""
    value: Any = None
    responded_by: str | None = None
    responded_at: datetime | None = None


# --- RFC-0003 leasing, arbitration, decisions ---------------------------------------------

@dataclass
class Lease(Model):
    id: str = ""
    intent_id: str = ""
    agent_id: str = ""
    scope: str = ""
    acquired_at: datetime | None = None
    expires_at: datetime | None = None
    released_at: datetime | None = None
    status: str | None = None

    @property
    def is_active(self) -> bool:
        if self.status is not None:
            return self.status == "active"
        if self.released_at is not None:
            return False
        return bool(self.expires_at and self.expires_at > datetime.now(timezone.utc).replace(tzinfo=None))


@dataclass
class Arbitration(Model):
    id: str = ""
    intent_id: str = ""
    requested_by: str | None = None
    reason: str = ""
    context: dict = field(default_factory=dict)
    status: str = "pending"
    created_at: datetime | None = None

    aliases: ClassVar = {"requested_by": ("requester_id",)}


@dataclass
class Decision(Model):
    id: str = ""
    intent_id: str = ""
    decision_type: str = ""
    outcome: Any = None
    decided_by: str | None = None
    rationale: str = ""
    created_at: datetime | None = None

    aliases: ClassVar = {"id": ("decision_id",), "decided_by": ("decision_maker_id",), "rationale": ("reasoning",)}


# --- RFC-0005 attachments, RFC-0006 subscriptions ------------------------------------------

@dataclass
class Attachment(Model):
    id: str = ""
    intent_id: str = ""
    filename: str = ""
    mime_type: str = ""
    size: int = 0
    storage_url: str | None = None
    created_by: str | None = None
    metadata: dict = field(default_factory=dict)
    has_content: bool | None = None
    created_at: datetime | None = None

    aliases: ClassVar = {"created_by": ("uploaded_by",)}


@dataclass
class Subscription(Model):
    id: str = ""
    intent_id: str | None = None
    portfolio_id: str | None = None
    subscriber_id: str | None = None
    event_types: list[str] = field(default_factory=list)
    webhook_url: str | None = None
    active: bool = True
    expires_at: datetime | None = None
    created_at: datetime | None = None


# --- RFC-0004/0007 portfolios ---------------------------------------------------------------

@dataclass
class Portfolio(Model):
    id: str = ""
    name: str = ""
    description: str = ""
    created_by: str | None = None
    status: str = "active"
    governance_policy: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    aggregate_status: dict | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class Membership(Model):
    id: str = ""
    portfolio_id: str = ""
    intent_id: str = ""
    role: str = "member"
    priority: int = 0
    added_at: datetime | None = None

    aliases: ClassVar = {"id": ("membership_id",)}


# --- RFC-0009 costs, RFC-0010 retries -------------------------------------------------------

@dataclass
class CostRecord(Model):
    id: str = ""
    intent_id: str = ""
    agent_id: str | None = None
    cost_type: str = ""
    amount: float = 0.0
    unit: str = ""
    provider: str | None = None
    metadata: dict = field(default_factory=dict)
    recorded_at: datetime | None = None

    aliases: ClassVar = {"metadata": ("cost_metadata",)}


@dataclass
class RetryPolicy(Model):
    id: str = ""
    intent_id: str = ""
    strategy: str = "exponential"
    max_retries: int = 3
    base_delay_ms: int = 1000
    max_delay_ms: int = 60000
    jitter: bool = True
    fallback_agent_id: str | None = None
    failure_threshold: int = 3
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def delay_ms(self, retry_number: int) -> int:
        """The RFC delay for retry ``retry_number`` (1-based), capped, without jitter."""
        base = self.base_delay_ms
        if self.strategy == "none":
            return 0
        if self.strategy == "fixed":
            delay = base
        elif self.strategy == "linear":
            delay = base * retry_number
        else:
            delay = base * 2 ** (retry_number - 1)
        return min(delay, self.max_delay_ms)


@dataclass
class Failure(Model):
    id: str = ""
    intent_id: str = ""
    agent_id: str | None = None
    error_code: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    attempt_number: int = 1
    metadata: dict = field(default_factory=dict)
    retry_scheduled_at: datetime | None = None
    resolved_at: datetime | None = None
    occurred_at: datetime | None = None


# --- RFC-0011 access control ----------------------------------------------------------------

@dataclass
class ACLEntry(Model):
    id: str = ""
    intent_id: str = ""
    principal_id: str = ""
    principal_type: str = "agent"
    permission: str = "read"
    granted_by: str | None = None
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    reason: str | None = None


@dataclass
class ACL(Model):
    intent_id: str = ""
    default_policy: str = "open"
    entries: list[ACLEntry] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> "ACL":
        acl = super().from_dict(data)
        acl.entries = _list(ACLEntry, data.get("entries", []))
        return acl


@dataclass
class AccessRequest(Model):
    id: str = ""
    intent_id: str = ""
    principal_id: str = ""
    principal_type: str = "agent"
    requested_permission: str = "write"
    reason: str = ""
    status: str = "pending"
    capabilities: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    created_at: datetime | None = None


# --- RFC-0012 tasks and plans ---------------------------------------------------------------

@dataclass
class Task(Model):
    id: str = ""
    intent_id: str = ""
    name: str = ""
    plan_id: str | None = None
    description: str | None = None
    parent_task_id: str | None = None
    status: str = "pending"
    priority: str = "normal"
    input: dict = field(default_factory=dict)
    output: dict | None = None
    assigned_agent: str | None = None
    capabilities_required: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    timeout_seconds: int | None = None
    attempt: int = 1
    max_attempts: int = 3
    error: str | None = None
    blocked_reason: str | None = None
    metadata: dict = field(default_factory=dict)
    version: int = 1
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    aliases: ClassVar = {"metadata": ("task_metadata",)}


@dataclass
class Plan(Model):
    id: str = ""
    intent_id: str = ""
    version: int = 1
    state: str = "draft"
    tasks: list[str] = field(default_factory=list)
    checkpoints: list[dict] = field(default_factory=list)
    conditions: list[dict] = field(default_factory=list)
    on_failure: str = "pause_and_escalate"
    on_complete: str = "notify"
    metadata: dict = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    aliases: ClassVar = {"metadata": ("plan_metadata",)}


# --- RFC-0013 coordinator governance --------------------------------------------------------

@dataclass
class CoordinatorLease(Model):
    id: str = ""
    intent_id: str | None = None
    portfolio_id: str | None = None
    agent_id: str = ""
    role: str = "coordinator"
    supervisor_id: str | None = None
    coordinator_type: str = "llm"
    scope: str = "intent"
    status: str = "active"
    guardrails: dict | None = None
    heartbeat_interval_seconds: int = 60
    last_heartbeat: datetime | None = None
    granted_at: datetime | None = None
    expires_at: datetime | None = None
    version: int = 1
    metadata: dict = field(default_factory=dict)

    aliases: ClassVar = {"metadata": ("lease_metadata",)}


@dataclass
class DecisionRecord(Model):
    id: str = ""
    coordinator_id: str = ""
    intent_id: str = ""
    decision_type: str = ""
    summary: str = ""
    rationale: str = ""
    alternatives_considered: list = field(default_factory=list)
    confidence: float | None = None
    timestamp: datetime | None = None


@dataclass
class Escalation(Model):
    id: str = ""
    intent_id: str = ""
    escalated_by: str | None = None
    reason: str = ""
    priority: str = "medium"
    urgency: str = "medium"
    context: dict = field(default_factory=dict)
    status: str = "pending"
    created_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    resolution_notes: str | None = None


@dataclass
class Approval(Model):
    id: str = ""
    intent_id: str = ""
    requested_by: str | None = None
    action: str = ""
    reason: str = ""
    context: dict = field(default_factory=dict)
    status: str = "pending"
    created_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decision_notes: str | None = None


@dataclass
class GovernanceInfo(Model):
    intent_id: str = ""
    governance_policy: dict = field(default_factory=dict)
    effective_policy: dict = field(default_factory=dict)


# --- RFC-0014 vaults and tools --------------------------------------------------------------

@dataclass
class Vault(Model):
    id: str = ""
    owner_id: str = ""
    name: str = ""
    credentials: list[str] = field(default_factory=list)
    created_at: datetime | None = None


@dataclass
class Credential(Model):
    id: str = ""
    vault_id: str = ""
    service: str = ""
    label: str = ""
    auth_type: str = "api_key"
    scopes_available: list[str] = field(default_factory=list)
    status: str = "active"
    metadata: dict = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    rotated_at: datetime | None = None
    expires_at: datetime | None = None

    aliases: ClassVar = {"metadata": ("credential_metadata",)}


@dataclass
class Grant(Model):
    id: str = ""
    credential_id: str = ""
    agent_id: str = ""
    granted_by: str = ""
    scopes: list[str] = field(default_factory=list)
    constraints: dict | None = None
    source: str = "direct"
    delegatable: bool = False
    delegation_depth: int = 0
    delegated_from: str | None = None
    context: dict = field(default_factory=dict)
    status: str = "active"
    expires_at: datetime | None = None
    created_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class Invocation(Model):
    id: str = ""
    grant_id: str = ""
    service: str = ""
    tool: str = ""
    agent_id: str = ""
    parameters: dict = field(default_factory=dict)
    status: str = "success"
    result: Any = None
    error: Any = None
    cost: Any = None
    duration_ms: int | None = None
    idempotency_key: str | None = None
    context: dict = field(default_factory=dict)
    timestamp: datetime | None = None

    aliases: ClassVar = {"id": ("invocation_id",)}


@dataclass
class ToolResult(Model):
    invocation_id: str = ""
    tool_name: str = ""
    status: str = ""
    result: Any = None
    error: Any = None
    duration_ms: int | None = None


# --- RFC-0015 memory, RFC-0016 agents, RFC-0017 triggers ------------------------------------

@dataclass
class MemoryEntry(Model):
    id: str = ""
    agent_id: str = ""
    namespace: str = ""
    key: str = ""
    value: dict = field(default_factory=dict)
    memory_type: str = "working"
    version: int = 1
    scope: dict | None = None
    tags: list[str] = field(default_factory=list)
    ttl: str | None = None
    pinned: bool = False
    priority: str = "normal"
    sensitivity: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass
class AgentRecord(Model):
    agent_id: str = ""
    status: str = "active"
    role_id: str | None = None
    name: str | None = None
    endpoint: str | None = None
    capabilities: list[str] = field(default_factory=list)
    capacity: dict | None = None
    heartbeat_config: dict | None = None
    metadata: dict = field(default_factory=dict)
    drain_timeout_seconds: int | None = None
    version: int = 1
    registered_at: datetime | None = None
    last_heartbeat_at: datetime | None = None

    aliases: ClassVar = {"metadata": ("agent_metadata",)}


@dataclass
class Heartbeat(Model):
    status: str = "ok"
    agent_status: str | None = None
    acknowledged: bool | None = None
    pending_commands: list[dict] = field(default_factory=list)
    server_timestamp: datetime | None = None
    next_heartbeat_at: datetime | None = None


@dataclass
class Trigger(Model):
    trigger_id: str = ""
    name: str = ""
    type: str = ""
    enabled: bool = True
    condition: dict | None = None
    intent_template: dict | None = None
    deduplication: str = "allow"
    namespace: str | None = None
    fire_count: int = 0
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_fired_at: datetime | None = None

    @property
    def id(self) -> str:
        return self.trigger_id


@dataclass
class TriggerFire(Model):
    status: str = ""
    fire_count: int = 0
    trigger_id: str | None = None
    intent_id: str | None = None
    intent: dict | None = None
    deduplicated: bool = False
    existing_intent_id: str | None = None


@dataclass
class StreamEvent:
    """One SSE frame: ``event`` (frame name), ``data`` (parsed JSON, or ``{"raw": text}``),
    ``id`` (the ``id:`` line, ``None`` for live-only frames)."""

    event: str
    data: Any
    id: str | None = None

    @property
    def intent_id(self) -> str | None:
        if isinstance(self.data, dict) and self.data.get("intent_id"):
            return self.data["intent_id"]
        if self.id and ":" in self.id:
            return self.id.rsplit(":", 1)[0]
        return None

    @property
    def type(self) -> str:
        """The frame name normalised to the server's lowercase names (``STATE_CHANGED`` →
        ``state_patched`` …)."""
        return FRAME_ALIASES.get(self.event, self.event)


FRAME_ALIASES = {
    "AGENT_ASSIGNED": "agent_assigned",
    "STATUS_CHANGED": "status_changed",
    "STATE_CHANGED": "state_patched",
    "LEASE_ACQUIRED": "lease_acquired",
    "LEASE_RELEASED": "lease_released",
}
