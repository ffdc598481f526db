"""RFC-0009 costs over the API (09) and the cost summary with LLM token usage (08)."""

import pytest

from conftest import make_client
from intents.models import CostRecord, Event
from intents.services.costs import cost_record
from openintent_project.api.principal import Principal
from openintent_project.errors import GovernanceViolation

from .factories_leases import CostRecordFactory, IntentFactory


@pytest.fixture
def intent(db):
    return IntentFactory()


def costs_url(intent_id):
    return f"/api/v1/intents/{intent_id}/costs"


def record(api, intent_id, **body):
    payload = {"cost_type": "tokens", "amount": 1500, "unit": "tokens", **body}
    return api.post(costs_url(intent_id), payload, format="json")


def test_record_returns_the_cost_with_float_amount_and_both_metadata_keys(api, intent):
    response = record(api, intent.pk, agent_id="agent-x", provider="openai", metadata={"model": "gpt-4"})
    assert response.status_code == 200, response.content
    cost = response.json()
    assert cost["amount"] == 1500.0 and isinstance(cost["amount"], float)
    assert cost["agent_id"] == "agent-x"  # the body wins (09)
    assert cost["metadata"] == cost["cost_metadata"] == {"model": "gpt-4"}
    assert cost["provider"] == "openai"
    assert cost["recorded_at"] and "Z" not in cost["recorded_at"]
    assert not Event.objects.filter(intent=intent).exclude(event_type="intent_created").exists()  # no event (09)


def test_agent_id_defaults_to_the_principal(api, intent):
    assert record(api, intent.pk).json()["agent_id"] == "agent-owner"
    assert record(make_client(), intent.pk, agent_id=None).json()["agent_id"] == "dev-user-key"


def test_cost_metadata_wins_over_metadata(api, intent):
    cost = record(api, intent.pk, cost_metadata={"a": 1}, metadata={"b": 2}).json()
    assert cost["cost_metadata"] == {"a": 1}


def test_numeric_strings_coerce_and_negative_and_zero_are_accepted(api, intent):
    assert record(api, intent.pk, amount="12.5").json()["amount"] == 12.5
    assert record(api, intent.pk, amount=0).status_code == 200
    assert record(api, intent.pk, amount=-3).status_code == 200


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"cost_type": None}, ["body", "cost_type"]),
        ({"amount": "lots"}, ["body", "amount"]),
        ({"amount": True}, ["body", "amount"]),
        ({"amount": "nan"}, ["body", "amount"]),
        ({"amount": "1e400"}, ["body", "amount"]),
        ({"amount": 1e300}, ["body", "amount"]),
        ({"unit": 3}, ["body", "unit"]),
        ({"metadata": [1]}, ["body", "metadata"]),
        ({"provider": 5}, ["body", "provider"]),
    ],
)
def test_invalid_bodies_are_400(api, intent, body, loc):
    response = record(api, intent.pk, **body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert not CostRecord.objects.exists()


def test_missing_required_fields_are_400(api, intent):
    response = api.post(costs_url(intent.pk), {}, format="json")
    assert response.status_code == 400
    assert {tuple(item["loc"]) for item in response.json()["detail"]} == {
        ("body", "cost_type"), ("body", "amount"), ("body", "unit"),
    }


def test_unknown_intent(api, db):
    assert record(api, "nope").status_code == 404
    assert record(api, "nope").json()["detail"] == "Intent not found"
    assert api.get(costs_url("nope")).json() == []


def test_list_is_a_bare_array_in_insertion_order(api, intent):
    ids = [record(api, intent.pk, amount=n).json()["id"] for n in (1, 2, 3)]
    listed = api.get(costs_url(intent.pk)).json()
    assert [cost["id"] for cost in listed] == ids


def test_list_issues_a_fixed_number_of_queries(api, intent, django_assert_max_num_queries):
    CostRecordFactory.create_batch(25, intent=intent)
    with django_assert_max_num_queries(2):
        assert len(api.get(costs_url(intent.pk)).json()) == 25
    with django_assert_max_num_queries(3):
        assert api.get(costs_url(intent.pk) + "?summary=true").json()["summary"]["count"] == 25


def test_summary_by_type_agent_provider_and_unit(api, intent):
    record(api, intent.pk, amount=1000, provider="openai", agent_id="a",
           metadata={"model": "gpt-4", "prompt_tokens": 600, "completion_tokens": 400, "total_tokens": 1000})
    record(api, intent.pk, amount=500, provider="anthropic", agent_id="b",
           metadata={"model": "claude", "prompt_tokens": 300, "completion_tokens": 200, "total_tokens": 500})
    record(api, intent.pk, cost_type="api_call", amount=2.5, unit="cents", agent_id="a")
    response = api.get(costs_url(intent.pk) + "?summary=true")
    assert response.status_code == 200
    data = response.json()
    assert len(data["costs"]) == 3
    summary = data["summary"]
    assert summary["total"] == 1502.5
    assert summary["by_type"] == {"tokens": 1500.0, "api_call": 2.5}
    assert summary["by_agent"] == {"a": 1002.5, "b": 500.0}
    assert summary["by_provider"] == {"openai": 1000.0, "anthropic": 500.0, "unspecified": 2.5}
    assert summary["by_unit"] == {"tokens": 1500.0, "cents": 2.5}
    recorded = summary["llm"]["recorded"]
    assert (recorded["records"], recorded["prompt_tokens"], recorded["completion_tokens"], recorded["total_tokens"]) == (2, 900, 600, 1500)
    assert recorded["by_model"]["claude"]["total_tokens"] == 500


def test_summary_counts_logged_llm_token_usage(api, intent):
    base = {"provider": "openai", "model": "gpt-4", "messages_count": 2, "stream": False}
    for n, tokens in enumerate((100, 250)):
        api.post(f"/api/v1/intents/{intent.pk}/events", {
            "event_type": "llm_request_completed", "actor": "agent-owner",
            "payload": {**base, "request_id": f"r{n}", "prompt_tokens": tokens - 50, "completion_tokens": 50,
                        "total_tokens": tokens, "response_content": "x" * 100},
        }, format="json")
    api.post(f"/api/v1/intents/{intent.pk}/events", {
        "event_type": "llm_request_completed", "actor": "agent-owner",
        "payload": {**base, "model": "gpt-mini", "request_id": "r3"},  # no usage reported
    }, format="json")
    logged = api.get(costs_url(intent.pk) + "?summary=true").json()["summary"]["llm"]["logged"]
    assert logged["requests"] == 3
    assert (logged["prompt_tokens"], logged["completion_tokens"], logged["total_tokens"]) == (250, 100, 350)
    assert logged["by_model"]["openai/gpt-4"]["total_tokens"] == 350
    assert logged["by_model"]["openai/gpt-mini"]["requests"] == 1


def test_summary_query_is_validated(api, intent):
    assert api.get(costs_url(intent.pk) + "?summary=maybe").status_code == 400


# --- governance: max_cost is enforced through access.enforce_policy --------------------------

def test_record_passes_amount_unit_and_the_total_before_it_to_the_policy(api, intent, access_recorder):
    record(api, intent.pk, amount=30)
    record(api, intent.pk, amount=25, unit="cents")
    costs = [p for p in access_recorder.policies if p[1] == "cost"]
    assert costs == [
        ("agent-owner", "cost", {"amount": 30.0, "unit": "tokens", "current_total": 0.0}),
        ("agent-owner", "cost", {"amount": 25.0, "unit": "cents", "current_total": 30.0}),
    ]
    assert [p[2] for p in access_recorder.permissions] == ["write", "write"]


def test_policy_refusal_is_403_nothing_stored_and_the_violation_survives(api, intent, access_recorder):
    access_recorder.deny_policy = {"cost": "max_cost"}
    response = record(api, intent.pk, amount=30)
    assert response.status_code == 403
    assert response.json()["detail"]["rule"] == "max_cost"
    assert not CostRecord.objects.exists()
    [violation] = Event.objects.filter(intent=intent, event_type="governance.violation")
    assert violation.payload["rule"] == "max_cost" and violation.actor == "agent-owner"


def test_max_cost_rule_of_09_end_to_end(api, db, access_recorder):
    """With an enforcer that applies 09's max_cost rule to the details the service passes:
    30 then 25 against 50 → 403; exactly reaching the ceiling is allowed."""

    def max_cost(principal, intent, action, **details):
        access_recorder.policies.append((principal.id, action, details))
        ceiling = (intent.governance_policy or {}).get("max_cost")
        if action == "cost" and ceiling is not None and details["current_total"] + details["amount"] > ceiling:
            raise GovernanceViolation(
                {"error": "governance_violation", "rule": "max_cost", "message": "Cost ceiling exceeded"},
                intent_id=intent.pk, actor=principal.id,
                violation={"rule": "max_cost", "detail": "Cost ceiling exceeded"},
            )

    from intents import access

    access.register(policy=max_cost)
    intent = IntentFactory(governance_policy={"max_cost": 50.0})
    assert record(api, intent.pk, amount=30).status_code == 200
    assert record(api, intent.pk, amount=25).status_code == 403
    assert record(api, intent.pk, amount=20).status_code == 200
    assert Event.objects.filter(intent=intent, event_type="governance.violation").count() == 1


def test_service_raises_governance_violation(db, access_recorder):
    access_recorder.deny_policy = {"cost": "max_cost"}
    intent = IntentFactory()
    with pytest.raises(GovernanceViolation):
        cost_record(principal=Principal(id="p", api_key="k"), intent_id=intent.pk, cost_type="t", amount=1, unit="u")
