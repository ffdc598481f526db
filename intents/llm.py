"""RFC-0008 (08): the LLM, tool-call and stream event types the official SDK's helpers and
adapters write through ``POST /intents/{id}/events``.

The event route stays open to any ``event_type`` string and any payload object. For the ten
types below, the payload must have the shape 08's table gives (the keys the SDK always
sends, with their JSON types); optional keys are type-checked when present and extra keys
are kept. Token counts and durations must be non-negative integers, because the cost
summary adds them up (``services.costs``). Timestamps inside payloads are stored verbatim.
The RFC's own names (``llm_stream_started``, …) are not reserved and stay free-form."""

from __future__ import annotations

from typing import Any

from openintent_project.errors import InvalidInput, error_item

LLM_REQUEST_STARTED = "llm_request_started"
LLM_REQUEST_COMPLETED = "llm_request_completed"
LLM_REQUEST_FAILED = "llm_request_failed"
TOKEN_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens")

STR, OPT_STR, INT, NUM, BOOL, OBJ, LIST, ANY = "str", "opt_str", "int", "num", "bool", "obj", "list", "any"

_LLM_REQUEST = {"request_id": STR, "provider": OPT_STR, "model": OPT_STR, "messages_count": INT, "stream": BOOL}
_LLM_OPTIONAL = {
    "tools_available": LIST, "temperature": NUM, "max_tokens": INT, "response_content": OPT_STR,
    "tool_calls": LIST, "finish_reason": OPT_STR, "prompt_tokens": INT, "completion_tokens": INT,
    "total_tokens": INT, "duration_ms": INT, "error": OPT_STR,
}
_TOOL_CALL = {"tool_name": STR, "tool_id": STR, "arguments": OBJ}
_TOOL_OPTIONAL = {
    "provider": OPT_STR, "model": OPT_STR, "parent_request_id": OPT_STR, "result": ANY,
    "error": OPT_STR, "duration_ms": INT, "token_count": INT,
}
_STREAM = {
    "stream_id": STR, "intent_id": STR, "agent_id": OPT_STR, "status": STR, "provider": OPT_STR,
    "model": OPT_STR, "chunks_received": INT, "tokens_streamed": INT,
}
_STREAM_OPTIONAL = {
    "started_at": OPT_STR, "completed_at": OPT_STR, "cancelled_at": OPT_STR, "cancel_reason": OPT_STR,
    "error": OPT_STR,
}
STREAM_STATUSES = ("active", "completed", "cancelled", "failed")

# event_type → (required keys, optional keys). ``error`` of the *_failed types is optional
# because the SDK leaves an empty error string out of the payload.
SCHEMAS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    LLM_REQUEST_STARTED: (_LLM_REQUEST, _LLM_OPTIONAL),
    LLM_REQUEST_COMPLETED: (_LLM_REQUEST, _LLM_OPTIONAL),
    LLM_REQUEST_FAILED: (_LLM_REQUEST, _LLM_OPTIONAL),
    "tool_call_started": (_TOOL_CALL, _TOOL_OPTIONAL),
    "tool_call_completed": (_TOOL_CALL, _TOOL_OPTIONAL),
    "tool_call_failed": (_TOOL_CALL, _TOOL_OPTIONAL),
    "stream_started": ({**_STREAM, "started_at": STR}, _STREAM_OPTIONAL),
    "stream_chunk": ({"stream_id": STR, "chunk_index": INT, "token_count": INT}, {}),
    "stream_completed": (_STREAM, _STREAM_OPTIONAL),
    "stream_cancelled": (_STREAM, _STREAM_OPTIONAL),
}

_MESSAGES = {
    STR: ("string_type", "Input should be a valid string"),
    OPT_STR: ("string_type", "Input should be a valid string or null"),
    INT: ("int_type", "Input should be a non-negative integer"),
    NUM: ("float_type", "Input should be a valid number"),
    BOOL: ("bool_type", "Input should be a valid boolean"),
    OBJ: ("dict_type", "Input should be a valid dictionary"),
    LIST: ("list_type", "Input should be a valid list"),
}


def _valid(kind: str, value: Any) -> bool:
    if kind == ANY:
        return True
    if kind == STR:
        return isinstance(value, str)
    if kind == OPT_STR:
        return value is None or isinstance(value, str)
    if kind == INT:
        return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    if kind == NUM:
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == OBJ:
        return isinstance(value, dict)
    if kind == LIST:
        return value is None or isinstance(value, list)
    return False


def validate_event_payload(event_type: str, payload: Any) -> None:
    """Raise ``InvalidInput`` (400, one item per problem) when ``payload`` does not fit the
    08 shape of ``event_type``. Any other event type passes unchecked."""
    schema = SCHEMAS.get(event_type)
    if schema is None:
        return
    required, optional = schema
    data = payload if isinstance(payload, dict) else {}
    items: list[dict] = []
    for key, kind in required.items():
        loc = ("body", "payload", key)
        if key not in data:
            items.append(error_item(loc, "Field required", type="missing", input=data))
        elif not _valid(kind, data[key]) or (kind == INT and data[key] is None):
            code, msg = _MESSAGES[kind]
            items.append(error_item(loc, msg, type=code, input=data[key]))
    for key, kind in optional.items():
        if key in data and key not in required and not _valid(kind, data[key]):
            code, msg = _MESSAGES[kind]
            items.append(error_item(("body", "payload", key), msg, type=code, input=data[key]))
    if "status" in required and isinstance(data.get("status"), str) and data["status"] not in STREAM_STATUSES:
        items.append(error_item(
            ("body", "payload", "status"), f"Input should be one of: {', '.join(STREAM_STATUSES)}",
            type="enum", input=data["status"],
        ))
    if items:
        raise InvalidInput(items)
