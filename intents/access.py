"""Who may do what on an intent: the two checks every intent-scoped write goes through.

1. ``require_permission(principal, intent, level)`` — access control (RFC-0011, 11 §2):
   ``read`` < ``write`` < ``admin``. Runs after the 404 and before governance.
2. ``enforce_policy(principal, intent, action, **details)`` — the intent's governance policy
   (RFC-0013, 13 §5) and coordinator guardrails; raises ``GovernanceViolation`` (403).

The intents app is the hub and knows nothing of ACL rows or policies: the governance app
registers the evaluators when it loads (``governance.apps``). Without a registered
evaluator an intent has no ACL and no policy, which the protocol defines as full access
(11 §2 rule 4, "legacy access")."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Callable, Protocol

from openintent_project.api.principal import Principal

from .models import Intent


class Permission(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    ADMIN = 3

    @property
    def label(self) -> str | None:
        return None if self is Permission.NONE else self.name.lower()


class AccessEvaluator(Protocol):
    def __call__(self, principal: Principal, intent: Intent, required: Permission) -> None: ...


class PolicyEnforcer(Protocol):
    def __call__(self, principal: Principal, intent: Intent, action: str, **details: Any) -> None: ...


_access_evaluator: AccessEvaluator | None = None
_policy_enforcer: PolicyEnforcer | None = None
_readable_filter: Callable[[Principal], Any] | None = None
_policy_validator: Callable[..., Any] | None = None


def register(
    *, access: AccessEvaluator | None = None, policy: PolicyEnforcer | None = None,
    readable: Callable[[Principal], Any] | None = None,
    policy_validator: Callable[..., Any] | None = None,
) -> None:
    global _access_evaluator, _policy_enforcer, _readable_filter, _policy_validator
    if access is not None:
        _access_evaluator = access
    if policy is not None:
        _policy_enforcer = policy
    if readable is not None:
        _readable_filter = readable
    if policy_validator is not None:
        _policy_validator = policy_validator


def validate_policy(policy: Any, *, loc: tuple = ("body", "governance_policy")) -> None:
    """400 for invalid governance-policy values given at intent creation (13 §5, FIX)."""
    if _policy_validator is not None and policy is not None:
        _policy_validator(policy, loc_prefix=loc)


def readable_filter(principal: Principal):
    """A ``Q`` on ``Intent`` keeping what ``principal`` may read, or ``None`` (everything):
    lists spanning intents leave unreadable intents out instead of answering 403 (11 §2)."""
    return _readable_filter(principal) if _readable_filter is not None else None


def require_permission(principal: Principal, intent: Intent, required: Permission) -> None:
    """Raise ``Forbidden`` (11 §2 "Denial" body) unless ``principal`` has ``required`` on
    ``intent``."""
    if _access_evaluator is not None:
        _access_evaluator(principal, intent, required)


def enforce_policy(principal: Principal, intent: Intent, action: str, **details: Any) -> None:
    """Raise ``GovernanceViolation`` when the intent's policy blocks ``action``.

    Actions and their details: ``state`` ; ``status`` (status, reason) ; ``cost`` (amount,
    unit) ; ``assign`` (agent_id) ; ``lease`` (scope)."""
    if _policy_enforcer is not None:
        _policy_enforcer(principal, intent, action, **details)

