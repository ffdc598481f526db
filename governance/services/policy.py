"""Governance policy per intent (RFC-0013, 13 §5): validation, set/get/remove and the
enforcer registered with ``intents.access`` — plus the RFC-0024 output check on → completed."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.db import transaction

from intents import events
from intents.access import Permission
from intents.models import Intent
from intents.services.core import intent_lock
from openintent_project.api.principal import Principal
from openintent_project.errors import GovernanceViolation, InvalidInput, VersionConflict, error_item

from ..models import Approval, DecisionStatus
from .access import intent_for_read, require

COMPLETION_MODES = ("auto", "require_approval", "quorum")
WRITE_SCOPES = ("any", "assigned_only")
DEFAULTS = {
    "completion_mode": "auto",
    "write_scope": "any",
    "quorum_threshold": 0.6,
    "allowed_agents": [],
    "max_cost": None,
    "require_status_reason": False,
}


class OutputContractViolation(GovernanceViolation):
    """RFC-0024 I/O contract checks (01 output check, 03 claim check): 422 with an object
    detail; the violation event survives the rejected request like a governance one."""

    status_code = 422


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def policy_validate(policy: Any, *, loc_prefix: tuple = ("body",)) -> dict:
    """400 (README §0.1) for every value check of 13 §5, one item per problem."""
    if not isinstance(policy, dict):
        raise InvalidInput.at(loc_prefix, "Input should be a valid dictionary", type="dict_type", input=policy)
    items = []

    def bad(key, msg, type_="value_error"):
        items.append(error_item((*loc_prefix, key), msg, type=type_, input=policy.get(key)))

    if "completion_mode" in policy and policy["completion_mode"] not in COMPLETION_MODES:
        bad("completion_mode", f"Invalid completion_mode. Must be one of: {', '.join(COMPLETION_MODES)}", "enum")
    if "write_scope" in policy and policy["write_scope"] not in WRITE_SCOPES:
        bad("write_scope", f"Invalid write_scope. Must be one of: {', '.join(WRITE_SCOPES)}", "enum")
    if "quorum_threshold" in policy:
        q = policy["quorum_threshold"]
        if not _is_number(q) or not (0 < q <= 1):
            bad("quorum_threshold", "quorum_threshold must be a number in (0, 1]")
    if "allowed_agents" in policy:
        a = policy["allowed_agents"]
        if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
            bad("allowed_agents", "allowed_agents must be a list of strings", "list_type")
    if "max_cost" in policy and policy["max_cost"] is not None:
        m = policy["max_cost"]
        if not _is_number(m) or m < 0:
            bad("max_cost", "max_cost must be a non-negative number")
    if "require_status_reason" in policy and not isinstance(policy["require_status_reason"], bool):
        bad("require_status_reason", "require_status_reason must be a boolean", "bool_type")
    if items:
        raise InvalidInput(items)
    return policy


def effective_policy(stored: dict | None) -> dict:
    stored = stored or {}
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def policy_get(*, principal: Principal, intent_id: str) -> dict:
    intent = intent_for_read(principal, intent_id)
    stored = intent.governance_policy or {}
    return {"intent_id": str(intent.pk), "governance_policy": stored, "effective_policy": effective_policy(stored)}


@transaction.atomic
def policy_set(*, principal: Principal, intent_id: str, expected_version: int, policy: dict) -> Intent:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    policy_validate(policy)
    if intent.version != expected_version:
        raise VersionConflict(current_version=intent.version)
    intent.governance_policy = policy
    _bump(intent)
    events.record(intent, "governance.policy_set", principal.id, {"governance_policy": policy, "version": intent.version})
    return intent


@transaction.atomic
def policy_remove(*, principal: Principal, intent_id: str, expected_version: int) -> Intent:
    intent = intent_lock(intent_id)
    require(principal, intent, Permission.ADMIN)
    if intent.version != expected_version:
        raise VersionConflict(current_version=intent.version)
    intent.governance_policy = None
    _bump(intent)
    events.record(intent, "governance.policy_removed", principal.id, {"version": intent.version})
    return intent


def _bump(intent: Intent) -> None:
    from django.utils import timezone

    intent.version += 1
    intent.updated_at = timezone.now()
    intent.save(update_fields=["governance_policy", "version", "updated_at"])


# --- enforcement (13 §5) -----------------------------------------------------------------------

def _violation(intent: Intent, actor: str, rule: str, message: str, event_detail: str | None, **extra) -> GovernanceViolation:
    detail = {"error": "governance_violation", "rule": rule, **extra, "message": message}
    payload = {"rule": rule, "detail": event_detail} if event_detail is not None else None
    return GovernanceViolation(detail, intent_id=intent.pk, actor=actor, violation=payload)


def _assigned(intent: Intent) -> list[str]:
    return list(intent.assignments.values_list("agent_id", flat=True))


def _check_writer(principal: Principal, intent: Intent, policy: dict) -> None:
    agent = principal.id
    if policy.get("write_scope", "any") == "assigned_only" and agent not in _assigned(intent):
        raise _violation(
            intent, agent, "write_scope",
            f"Governance policy requires write_scope='assigned_only'. Agent '{agent}' is not assigned to this intent.",
            f"Agent '{agent}' is not assigned to this intent",
        )
    allowed = policy.get("allowed_agents") or []
    if allowed and agent not in allowed:
        raise _violation(
            intent, agent, "allowed_agents",
            f"Governance policy restricts writes to allowed agents. Agent '{agent}' is not in the allowed list.",
            f"Agent '{agent}' is not in the allowed_agents list",
        )


def _approved_complete(intent: Intent) -> int:
    return Approval.objects.filter(intent=intent, action="complete", status=DecisionStatus.APPROVED).count()


def _check_completion(principal: Principal, intent: Intent, policy: dict) -> None:
    mode = policy.get("completion_mode", "auto")
    if mode == "require_approval" and _approved_complete(intent) == 0:
        raise _violation(
            intent, principal.id, "completion_mode",
            "Governance policy requires an approved approval request for action='complete' before this intent "
            "can be completed. Submit an approval request and have it approved first.",
            "No approved approval request for action='complete'", mode="require_approval",
        )
    if mode == "quorum":
        threshold = policy.get("quorum_threshold", 0.6)
        total = len(_assigned(intent))
        if total == 0:
            raise _violation(
                intent, principal.id, "completion_mode",
                "Governance policy requires quorum approval, but no agents are assigned to this intent.",
                None, mode="quorum",
            )
        approved = _approved_complete(intent)
        required = max(1, int(total * threshold))
        if approved < required:
            raise _violation(
                intent, principal.id, "completion_mode",
                f"Governance policy requires quorum approval. {approved} of {required} required approvals received "
                f"(threshold={threshold}, {total} assigned agents).",
                f"Quorum not met: {approved}/{required} approvals (threshold={threshold})", mode="quorum",
            )


PRIMITIVES = {"string": str, "number": (int, float), "boolean": bool, "object": dict, "array": list}


def _check_outputs(principal: Principal, intent: Intent) -> None:
    state = intent.state or {}
    outputs = state.get("_io_outputs") or {}
    if not isinstance(outputs, dict) or not outputs:
        return
    types = state.get("_io_types") or {}
    missing: list[str] = []
    type_errors: list[str] = []
    for key, decl in outputs.items():
        required, expected = True, "any"
        if isinstance(decl, dict):
            required = decl.get("required", True)
            expected = str(decl.get("type", "any"))
        elif isinstance(decl, str):
            expected = decl
        if key not in state:
            if required:
                missing.append(key)
            continue
        value = state[key]
        if expected in ("any", ""):
            continue
        if expected in PRIMITIVES:
            ok = isinstance(value, PRIMITIVES[expected])
            if expected == "number" and isinstance(value, bool):
                ok = False
            if not ok:
                type_errors.append(f"'{key}': expected {expected!r}, got {type(value).__name__!r}")
            continue
        schema = types.get(expected) if isinstance(types, dict) else None
        if schema is None:
            continue
        if isinstance(schema, dict) and "enum" in schema:
            if isinstance(schema["enum"], list) and value not in schema["enum"]:
                type_errors.append(f"'{key}': expected {expected!r} enum {schema['enum']!r}, got {value!r}")
        elif not isinstance(value, dict):
            type_errors.append(f"'{key}': expected {expected!r} (object), got {type(value).__name__!r}")
        elif isinstance(schema, dict):
            for field in schema:
                if field not in value:
                    type_errors.append(f"'{key}': named type {expected!r} missing required field '{field}'")
    if not (missing or type_errors):
        return
    parts = []
    if missing:
        parts.append(f"missing required outputs: {missing}")
    if type_errors:
        parts.append(f"type mismatches: {type_errors}")
    raise OutputContractViolation(
        {
            "error": "MissingOutputError" if missing else "OutputTypeMismatchError",
            "rule": "io_outputs",
            "message": "RFC-0024: Intent output does not satisfy declared output schema. " + "; ".join(parts),
            "missing": missing,
            "type_errors": type_errors,
        },
        intent_id=intent.pk, actor=principal.id,
        violation={"rule": "rfc0024_io_outputs", "missing": missing, "type_errors": type_errors},
    )


def _check_inputs(principal: Principal, intent: Intent) -> None:
    """RFC-0024 claim check on lease acquisition (03): every ``_io_inputs`` mapping must
    resolve from this intent's state or a completed dependency's state; else 422."""
    state = intent.state or {}
    inputs = state.get("_io_inputs") or {}
    if not isinstance(inputs, dict) or not inputs:
        return
    title_to_name = state.get("_io_dep_title_to_name") or {}
    if not isinstance(title_to_name, dict):
        title_to_name = {}
    upstream: dict[str, dict] = {}
    dep_ids = [pk for pk in (_uuid(d) for d in intent.depends_on) if pk]
    for dep in Intent.objects.filter(pk__in=dep_ids, status="completed"):
        dep_state = dep.state if isinstance(dep.state, dict) else {}
        upstream[title_to_name.get(dep.title, dep.title)] = dep_state
        upstream[dep.title] = dep_state
    unresolvable: list[str] = []
    for local_key, mapping in inputs.items():
        if not isinstance(mapping, str):
            unresolvable.append(f"{local_key}: {mapping!r}")
            continue
        for prefix in ("$trigger.", "$initial_state."):
            if mapping.startswith(prefix):
                if mapping[len(prefix):] not in state:
                    unresolvable.append(mapping)
                break
        else:
            phase, dot, key = mapping.partition(".")
            if not dot or key not in upstream.get(phase, {}):
                unresolvable.append(mapping)
    if unresolvable:
        raise OutputContractViolation(
            {
                "error": "UnresolvableInputError",
                "rule": "io_inputs",
                "message": "RFC-0024: Cannot resolve declared input mappings at claim time — upstream outputs are "
                           "missing or dependencies are not yet complete. Unresolvable: " + str(unresolvable),
                "unresolvable": unresolvable,
            },
            intent_id=intent.pk, actor=principal.id,
            violation={"rule": "rfc0024_io_inputs", "unresolvable": unresolvable},
        )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def enforce(principal: Principal, intent: Intent, action: str, **details: Any) -> None:
    """The policy enforcer registered with ``intents.access`` (13 §5, in REF's order)."""
    policy = intent.governance_policy or {}
    if not isinstance(policy, dict):
        policy = {}
    if action in ("state", "status", "cost"):
        _check_writer(principal, intent, policy)
    if action == "status":
        if policy.get("require_status_reason") and not details.get("reason"):
            raise GovernanceViolation(
                {"error": "governance_violation", "rule": "require_status_reason",
                 "message": "Governance policy requires a 'reason' field for all status transitions."},
                intent_id=intent.pk, actor=principal.id,
            )
        if details.get("status") == "completed":
            _check_completion(principal, intent, policy)
            _check_outputs(principal, intent)
    elif action == "cost":
        max_cost = policy.get("max_cost")
        if _is_number(max_cost):
            current = float(details.get("current_total") or 0)
            amount = float(details.get("amount") or 0)
            if current + amount > max_cost:
                raise _violation(
                    intent, principal.id, "max_cost",
                    f"Governance policy sets max_cost={max_cost}. Current total is {current}; adding {amount} "
                    "would exceed the ceiling.",
                    f"Cost ceiling exceeded: current={current}, new={amount}, max={max_cost}",
                )
    elif action == "lease":
        _check_inputs(principal, intent)
    elif action == "assign":
        allowed = policy.get("allowed_agents") or []
        agent_id = details.get("agent_id")
        if allowed and agent_id not in allowed:
            raise _violation(
                intent, principal.id, "allowed_agents",
                f"Governance policy restricts assignment to allowed agents. Agent '{agent_id}' is not permitted.",
                f"Agent '{agent_id}' is not in the allowed agents list for assignment",
            )
