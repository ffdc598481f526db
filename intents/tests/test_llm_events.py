"""RFC-0008 event types through POST /intents/{id}/events (08): accepted, validated, stored."""

import pytest

from intents.models import Event

from .factories_leases import IntentFactory

LLM = {"request_id": "r1", "provider": "openai", "model": "gpt-4", "messages_count": 2, "stream": False}
TOOL = {"tool_name": "search", "tool_id": "t1", "arguments": {"q": "x"}}
STREAM = {"stream_id": "s1", "intent_id": "i", "agent_id": "a", "status": "active", "provider": "openai",
          "model": "gpt-4", "chunks_received": 0, "tokens_streamed": 0}


@pytest.fixture
def intent(db):
    return IntentFactory()


def post(api, intent, event_type, payload):
    return api.post(f"/api/v1/intents/{intent.pk}/events",
                    {"event_type": event_type, "actor": "agent-owner", "payload": payload}, format="json")


@pytest.mark.parametrize(
    "event_type, payload",
    [
        ("llm_request_started", {**LLM, "tools_available": ["search"], "temperature": 0.2, "max_tokens": 10}),
        ("llm_request_completed", {**LLM, "response_content": "hi", "tool_calls": [{"id": 1}], "finish_reason": "stop",
                                   "prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8, "duration_ms": 40}),
        ("llm_request_failed", {**LLM, "error": "boom", "duration_ms": 3}),
        ("llm_request_failed", LLM),  # the SDK leaves an empty error out
        ("tool_call_started", {**TOOL, "provider": "openai", "model": "gpt-4", "parent_request_id": "r1"}),
        ("tool_call_completed", {**TOOL, "result": {"hits": 3}, "duration_ms": 12}),
        ("tool_call_failed", {**TOOL, "error": "timeout"}),
        ("stream_started", {**STREAM, "started_at": "2026-01-01T10:00:00.123456"}),
        ("stream_chunk", {"stream_id": "s1", "chunk_index": 0, "token_count": 1}),
        ("stream_completed", {**STREAM, "status": "completed", "chunks_received": 4, "tokens_streamed": 9,
                              "completed_at": "2026-01-01T10:00:01"}),
        ("stream_cancelled", {**STREAM, "status": "cancelled", "cancelled_at": "2026-01-01T10:00:01",
                              "cancel_reason": "user"}),
        ("llm_stream_started", {"anything": [1, 2]}),  # RFC names are not reserved
        ("tool_invocation", {"trace_id": "abc"}),
        ("any.custom-type", {}),
    ],
)
def test_sdk_shapes_and_free_form_types_are_stored_verbatim(api, intent, event_type, payload):
    response = post(api, intent, event_type, {**payload, "extra": {"kept": True}})
    assert response.status_code == 200, response.content
    stored = Event.objects.get(uuid=response.json()["id"])
    assert stored.event_type == event_type
    assert stored.payload == {**payload, "extra": {"kept": True}}


@pytest.mark.parametrize(
    "event_type, payload, loc",
    [
        ("llm_request_completed", {k: v for k, v in LLM.items() if k != "request_id"}, "request_id"),
        ("llm_request_completed", {**LLM, "total_tokens": -1}, "total_tokens"),
        ("llm_request_completed", {**LLM, "prompt_tokens": "12"}, "prompt_tokens"),
        ("llm_request_completed", {**LLM, "completion_tokens": 1.5}, "completion_tokens"),
        ("llm_request_started", {**LLM, "stream": "no"}, "stream"),
        ("llm_request_started", {**LLM, "messages_count": None}, "messages_count"),
        ("tool_call_started", {"tool_name": "x", "arguments": {}}, "tool_id"),
        ("tool_call_completed", {**TOOL, "arguments": "q=x"}, "arguments"),
        ("stream_chunk", {"stream_id": "s1", "chunk_index": True, "token_count": 1}, "chunk_index"),
        ("stream_completed", {**STREAM, "status": "exploded"}, "status"),
        ("stream_started", STREAM, "started_at"),
    ],
)
def test_malformed_llm_payloads_are_400_and_not_stored(api, intent, event_type, payload, loc):
    response = post(api, intent, event_type, payload)
    assert response.status_code == 400, response.content
    assert ["body", "payload", loc] in [item["loc"] for item in response.json()["detail"]]
    assert not Event.objects.filter(intent=intent, event_type=event_type).exists()


def test_validation_comes_before_the_intent_lookup(api, db):
    response = api.post("/api/v1/intents/nope/events",
                        {"event_type": "stream_chunk", "actor": "a", "payload": {}}, format="json")
    assert response.status_code == 400
