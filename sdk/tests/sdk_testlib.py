"""Helpers shared by the SDK tests (kept out of conftest.py so tests can import them)."""

from __future__ import annotations

import importlib.util
import pathlib
import uuid

DEV_KEY = "dev-user-key"
EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def load_example(name: str):
    """Import ``sdk/examples/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"sdk_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
