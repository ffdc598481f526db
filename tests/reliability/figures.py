"""Figures collected by the reliability tests, printed at the end of the run (conftest.py) and,
when OPENINTENT_RELIABILITY_REPORT names a file, written there as JSON."""

from __future__ import annotations

from collections import defaultdict

FIGURES: dict[str, dict] = defaultdict(dict)


def record(section: str, **values) -> None:
    FIGURES[section].update(values)


def add(section: str, key: str, amount: int = 1) -> None:
    FIGURES[section][key] = FIGURES[section].get(key, 0) + amount
