"""Fixtures of the intents app's tests."""

from __future__ import annotations

import pytest

from intents import access
from openintent_project.errors import Forbidden, GovernanceViolation


@pytest.fixture
def media_root(settings, tmp_path):
    """Attachment content goes to a fresh media directory (default_storage follows
    MEDIA_ROOT changes through the setting_changed signal)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


class AccessRecorder:
    """Stands in for the governance app's evaluators: records every call and refuses the
    ones a test asks it to, the way the real ones signal refusals."""

    def __init__(self) -> None:
        self.permissions: list[tuple[str, str, str]] = []
        self.policies: list[tuple[str, str, dict]] = []
        self.deny_permission: set = set()
        self.deny_policy: dict[str, str] = {}

    def check_permission(self, principal, intent, required):
        self.permissions.append((principal.id, str(intent.pk), required.label))
        if required in self.deny_permission:
            raise Forbidden(f"Access denied: {required.label} permission required")

    def enforce(self, principal, intent, action, **details):
        self.policies.append((principal.id, action, details))
        rule = self.deny_policy.get(action)
        if rule:
            raise GovernanceViolation(
                {"error": "governance_violation", "rule": rule, "message": f"{rule} refused"},
                intent_id=intent.pk, actor=principal.id, violation={"rule": rule, "detail": f"{rule} refused"},
            )


@pytest.fixture
def access_recorder():
    saved = (access._access_evaluator, access._policy_enforcer)
    recorder = AccessRecorder()
    access.register(access=recorder.check_permission, policy=recorder.enforce)
    yield recorder
    access._access_evaluator, access._policy_enforcer = saved
