"""Intent-template rendering (17 §4): ``{{ dotted.path }}`` inside strings, nothing else.

No filters, calls or code, and deliberately no template engine: a path is looked up in a
plain dict of variables. A string that is exactly one expression takes the raw value (its
type is kept); otherwise values are interpolated as text, dicts and lists as JSON."""

from __future__ import annotations

import json
import re
from typing import Any

EXPRESSION = re.compile(r"\{\{\s*([A-Za-z0-9_\-.]+)\s*\}\}")
_MISSING = object()


def lookup(variables: dict, path: str) -> Any:
    value: Any = variables
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_string(text: str, variables: dict) -> Any:
    whole = EXPRESSION.fullmatch(text.strip()) if text.strip() == text else EXPRESSION.fullmatch(text)
    if whole:
        value = lookup(variables, whole.group(1))
        return None if value is _MISSING else value
    return EXPRESSION.sub(lambda match: _as_text(lookup(variables, match.group(1))), text)


def render(template: Any, variables: dict) -> Any:
    """Walk ``template`` (dicts, lists, strings) and render every string."""
    if isinstance(template, str):
        return render_string(template, variables)
    if isinstance(template, dict):
        return {key: render(value, variables) for key, value in template.items()}
    if isinstance(template, list):
        return [render(item, variables) for item in template]
    return template
