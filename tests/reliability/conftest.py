"""The figures summary of the reliability suite (issue 9)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .figures import FIGURES


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for section, values in FIGURES.items():
        terminalreporter.write_line(f"{section}: {json.dumps(values, sort_keys=True, default=str)}")
    target = os.environ.get("OPENINTENT_RELIABILITY_REPORT")
    if target:
        Path(target).write_text(json.dumps(FIGURES, indent=2, sort_keys=True, default=str))
