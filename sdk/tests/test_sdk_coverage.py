"""Every public method of every endpoint group is exercised by a test in this directory, and
the SDK stays free of Django and of the official ``openintent`` package."""

from __future__ import annotations

import ast
import inspect
import pathlib
import subprocess
import sys

from openintent_sdk import Client

HERE = pathlib.Path(__file__).resolve().parent
SDK_SRC = HERE.parent / "openintent_sdk"
GROUPS = ["intents", "events", "leases", "governance", "attachments", "subscriptions", "portfolios", "costs",
          "retries", "access", "tasks", "plans", "coordinator", "vaults", "memory", "agents", "triggers"]


def called_names() -> set[str]:
    """Attribute names called anywhere in the tests and examples (``x.y.create(...)`` → create)."""
    names: set[str] = set()
    files = [p for p in HERE.glob("test_*.py") if p.name != pathlib.Path(__file__).name]
    files += list((HERE.parent / "examples").glob("*.py"))
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                chain, value = [node.func.attr], node.func.value
                while isinstance(value, ast.Attribute):
                    chain.append(value.attr)
                    value = value.value
                names.add(".".join(reversed(chain)))
    return names


def test_every_group_method_is_called_by_a_test():
    client = Client("http://127.0.0.1:1", "k", "a")
    calls = called_names()
    missing = []
    for group in GROUPS:
        resource = getattr(client, group)
        for name, _ in inspect.getmembers(type(resource), inspect.isfunction):
            if name.startswith("_"):
                continue
            aliases = {group, "tools"} if group == "vaults" else {group}
            if not any(call.endswith(f"{alias}.{name}") for call in calls for alias in aliases):
                missing.append(f"{group}.{name}")
    for name in ("lease", "stream", "discover", "compat", "server_config", "openapi"):
        if not any(call.endswith(name) for call in calls):
            missing.append(name)
    assert missing == []


def test_sdk_imports_no_django_and_not_the_official_client():
    for path in SDK_SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            for module in modules:
                root = module.split(".")[0]
                assert root not in ("django", "rest_framework", "openintent"), f"{path.name} imports {module}"
    code = ("import sys, openintent_sdk; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('django', 'openintent')]; print(bad); sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).returncode == 0
