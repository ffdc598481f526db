"""State patches (01, "POST /intents/{id}/state").

Paths split on ``/`` with empty segments dropped; every segment is an object key (digits
too); no JSON-pointer unescaping. Patches apply in order to a deep copy, and any error
rejects the whole request."""

from __future__ import annotations

import copy
from typing import Any

from openintent_project.errors import InvalidInput, error_item

OPS = ("set", "append", "remove")


def split_path(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def merge_to_patches(state: dict) -> list[dict]:
    """The ``state`` shorthand: each top-level key becomes a ``set``."""
    return [{"op": "set", "path": key, "value": value} for key, value in state.items()]


def apply_patches(state: dict, patches: list[dict]) -> dict:
    result = copy.deepcopy(state)
    errors: list[dict] = []
    for index, patch in enumerate(patches):
        op, path, value = patch["op"], patch["path"], patch.get("value")
        where = ("body", "patches", index)
        if op not in OPS:
            errors.append(error_item(where + ("op",), f"Unknown op '{op}'; expected one of set, append, remove", type="enum", input=op))
            continue
        segments = split_path(path)
        if not segments:
            errors.append(error_item(where + ("path",), "Path must name at least one key", input=path))
            continue
        if op == "remove":
            _remove(result, segments)
            continue
        parent = _walk_creating(result, segments[:-1])
        if parent is None:
            errors.append(error_item(where + ("path",), f"Path '{path}' goes through a value that is not an object", input=path))
            continue
        last = segments[-1]
        if op == "set":
            parent[last] = copy.deepcopy(value)
        else:  # append
            if not isinstance(parent.get(last), list):
                parent[last] = []
            parent[last].append(copy.deepcopy(value))
    if errors:
        raise InvalidInput(errors)
    return result


def _walk_creating(node: dict, segments: list[str]) -> dict | None:
    for segment in segments:
        child = node.get(segment)
        if child is None and segment not in node:
            child = node[segment] = {}
        if not isinstance(child, dict):
            return None
        node = child
    return node


def _remove(node: Any, segments: list[str]) -> None:
    for segment in segments[:-1]:
        if not isinstance(node, dict) or segment not in node:
            return
        node = node[segment]
    if isinstance(node, dict):
        node.pop(segments[-1], None)
