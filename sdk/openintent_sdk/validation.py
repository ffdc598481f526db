"""Client-side checks for obvious mistakes, so they fail fast with a helpful message instead
of a round trip and a 400."""

from __future__ import annotations

from typing import Any, Iterable

from .errors import InvalidArgumentError


def require_text(name: str, value: Any, *, hint: str = "") -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__}{hint}")
    if not value.strip():
        raise InvalidArgumentError(f"{name} must not be empty{hint}")
    return value


def require_id(name: str, value: Any) -> str:
    """Path ids are opaque strings: non-empty and without '/'."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a non-empty id string, got {value!r}")
    if "/" in value:
        raise InvalidArgumentError(f"{name} must not contain '/': {value!r}")
    return value


def require_duration(name: str, value: Any, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidArgumentError(f"{name} must be a whole number of seconds, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidArgumentError(
            f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {value} "
            "(a lease or timeout with no time left is born expired)")
    return value


def require_non_negative(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def require_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def require_dict(name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise InvalidArgumentError(f"{name} must be a JSON object (dict), got {type(value).__name__}")
    return value


def require_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgumentError(f"version must be a positive integer (versions start at 1), got {value!r}")
    return value


def require_str_list(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidArgumentError(f"{name} must be a list of strings, got {value!r}")
    return list(value)


def invalid(what: str, value: Any) -> InvalidArgumentError:
    """An error to raise: ``what`` says what was expected."""
    return InvalidArgumentError(f"invalid {what}: got {value!r}")
