"""RFC-0004/0007 portfolios over the API (07): create, list, get with aggregate, status,
membership (idempotent), governance policy fields that take effect."""

from unittest import mock

import pytest

from conftest import make_client
from intents.models import Event, Intent, PortfolioMembership
from intents.services import portfolios as service


def create_portfolio(api, **body):
    response = api.post("/api/v1/portfolios", {"name": "Launch", "created_by": "agent-owner", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def create_intent(api, title="Task", **body):
    response = api.post("/api/v1/intents", {"title": title, **body}, format="json")
    assert response.status_code == 200
    return response.json()


def add(api, portfolio_id, intent_id, **body):
    return api.post(f"/api/v1/portfolios/{portfolio_id}/intents", {"intent_id": intent_id, **body}, format="json")


def set_intent_status(api, intent, status):
    current = api.get(f"/api/v1/intents/{intent['id']}").json()
    response = api.post(
        f"/api/v1/intents/{intent['id']}/status", {"status": status}, format="json", HTTP_IF_MATCH=str(current["version"])
    )
    assert response.status_code == 200, response.content


# --- create / list / get ---------------------------------------------------------------

def test_create_with_null_description_and_metadata(api):
    data = create_portfolio(api, description=None, metadata={"team": "x"}, governance_policy={"budget_limit_cents": 5})
    assert data["description"] == "" and data["status"] == "active"
    assert data["metadata"] == {"team": "x"} and data["governance_policy"] == {"budget_limit_cents": 5}
    assert data["created_by"] == "agent-owner"
    assert data["aggregate_status"] == {
        "total": 0, "by_status": {}, "completion_percentage": 0,
        "has_suspended_members": False, "suspended_member_count": 0,
    }
    assert "Z" not in data["created_at"] and data["created_at"] == data["updated_at"]


def test_create_announces_portfolio_created_after_commit(api, django_capture_on_commit_callbacks):
    received = []
    service.portfolio_frame.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            data = create_portfolio(api)
    finally:
        service.portfolio_frame.disconnect(dispatch_uid="t1")
    assert [(r["portfolio_id"], r["event_type"]) for r in received] == [(data["id"], "portfolio_created")]
    assert received[0]["data"]["name"] == "Launch"


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"created_by": "x"}, ["body", "name"]),
        ({"name": "x"}, ["body", "created_by"]),
        ({"name": 5, "created_by": "x"}, ["body", "name"]),
        ({"name": "x", "created_by": "x", "governance_policy": []}, ["body", "governance_policy"]),
        ({"name": "x", "created_by": "x", "metadata": "m"}, ["body", "metadata"]),
        ({"name": "x", "created_by": "x", "governance_policy": {"require_all_completed": "yes"}}, ["body", "governance_policy", "require_all_completed"]),
        ({"name": "x", "created_by": "x", "governance_policy": {"shared_constraints": [1]}}, ["body", "governance_policy", "shared_constraints"]),
    ],
)
def test_invalid_create_is_400(api, body, loc):
    response = api.post("/api/v1/portfolios", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == loc


def test_list_in_insertion_order_with_created_by_filter(api):
    a = create_portfolio(api, name="a")
    b = create_portfolio(api, name="b", created_by="someone")
    assert [p["id"] for p in api.get("/api/v1/portfolios").json()] == [a["id"], b["id"]]
    assert [p["id"] for p in api.get("/api/v1/portfolios?created_by=someone").json()] == [b["id"]]
    assert len(api.get("/api/v1/portfolios?created_by=").json()) == 2


def test_list_aggregates_in_a_constant_number_of_queries(api, django_assert_max_num_queries):
    for i in range(4):
        portfolio = create_portfolio(api, name=f"p{i}")
        for _ in range(3):
            add(api, portfolio["id"], create_intent(api)["id"])
    with django_assert_max_num_queries(2):
        listed = api.get("/api/v1/portfolios").json()
    assert [p["aggregate_status"]["total"] for p in listed] == [3, 3, 3, 3]


def test_get_with_aggregate_status_and_member_intents(api, django_assert_max_num_queries):
    portfolio = create_portfolio(api)
    intents = [create_intent(api, f"t{i}") for i in range(4)]
    for intent in intents:
        add(api, portfolio["id"], intent["id"])
    set_intent_status(api, intents[0], "completed")
    set_intent_status(api, intents[1], "active")
    set_intent_status(api, intents[2], "suspended_awaiting_input")
    with django_assert_max_num_queries(4):
        data = api.get(f"/api/v1/portfolios/{portfolio['id']}").json()
    assert data["aggregate_status"]["total"] == 4
    assert data["aggregate_status"]["by_status"] == {"completed": 1, "active": 1, "suspended_awaiting_input": 1, "draft": 1}
    assert data["aggregate_status"]["completion_percentage"] == 25
    assert data["has_suspended_members"] is True and data["suspended_member_count"] == 1
    assert [i["id"] for i in data["intents"]] == [i["id"] for i in intents]


def test_unknown_portfolio_is_404(api):
    for path in ("nope", "00000000-0000-0000-0000-000000000000"):
        response = api.get(f"/api/v1/portfolios/{path}")
        assert response.status_code == 404 and response.json()["detail"] == "Portfolio not found"
        assert api.patch(f"/api/v1/portfolios/{path}/status", {"status": "completed"}, format="json").status_code == 404


def test_requires_the_api_key(db):
    assert make_client(api_key=None).get("/api/v1/portfolios").status_code == 401


# --- status ----------------------------------------------------------------------------------

def test_status_update_moves_updated_at_and_allows_any_transition(api):
    portfolio = create_portfolio(api)
    for status in ("completed", "active", "abandoned", "active"):
        response = api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", {"status": status}, format="json")
        assert response.status_code == 200 and response.json()["status"] == status
    assert response.json()["updated_at"] > portfolio["updated_at"]


@pytest.mark.parametrize("body", [{"status": "flying"}, {"status": 3}, {}])
def test_bad_status_is_400(api, body):
    portfolio = create_portfolio(api)
    response = api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", body, format="json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "status"]


def test_require_all_completed_blocks_completion_until_every_member_is_completed(api):
    portfolio = create_portfolio(api, governance_policy={"require_all_completed": True})
    a, b = create_intent(api, "a"), create_intent(api, "b")
    add(api, portfolio["id"], a["id"])
    add(api, portfolio["id"], b["id"])
    set_intent_status(api, a, "completed")
    response = api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", {"status": "completed"}, format="json")
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert detail["error"] == "governance_violation" and detail["rule"] == "require_all_completed"
    assert detail["incomplete_intents"] == [b["id"]]
    assert api.get(f"/api/v1/portfolios/{portfolio['id']}").json()["status"] == "active"
    # Abandoning is always allowed; no intent event is written for portfolios.
    assert not Event.objects.filter(event_type="governance.violation").exists()
    set_intent_status(api, b, "completed")
    response = api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", {"status": "completed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"


def test_allow_partial_completion_tolerates_abandoned_members(api):
    portfolio = create_portfolio(api, governance_policy={"require_all_completed": True, "allow_partial_completion": True})
    a, b = create_intent(api, "a"), create_intent(api, "b")
    add(api, portfolio["id"], a["id"])
    add(api, portfolio["id"], b["id"])
    set_intent_status(api, a, "completed")
    set_intent_status(api, b, "abandoned")
    assert api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", {"status": "completed"}, format="json").status_code == 200


def test_without_the_policy_completion_is_free(api):
    portfolio = create_portfolio(api)
    add(api, portfolio["id"], create_intent(api)["id"])
    assert api.patch(f"/api/v1/portfolios/{portfolio['id']}/status", {"status": "completed"}, format="json").status_code == 200


# --- membership --------------------------------------------------------------------------------

def test_add_returns_the_ref_keys_and_the_membership(api):
    portfolio, intent = create_portfolio(api), create_intent(api)
    response = add(api, portfolio["id"], intent["id"], role="primary", priority=100)
    assert response.status_code == 200
    data = response.json()
    assert data["message"] == "Intent added to portfolio"
    assert data["membership_id"] == data["id"]
    assert (data["portfolio_id"], data["intent_id"], data["role"], data["priority"]) == (portfolio["id"], intent["id"], "primary", 100)
    assert "Z" not in data["added_at"]


def test_repeated_add_updates_the_one_membership(api, django_capture_on_commit_callbacks):
    portfolio, intent = create_portfolio(api), create_intent(api)
    received = []
    service.portfolio_frame.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t2")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = add(api, portfolio["id"], intent["id"]).json()
            second = add(api, portfolio["id"], intent["id"], role="dependency", priority=5).json()
    finally:
        service.portfolio_frame.disconnect(dispatch_uid="t2")
    assert first["id"] == second["id"] and second["role"] == "dependency" and second["priority"] == 5
    assert PortfolioMembership.objects.count() == 1
    assert len(api.get(f"/api/v1/portfolios/{portfolio['id']}/intents").json()) == 1
    # intent_added is announced on every call, with the FIX data.
    assert [r["event_type"] for r in received] == ["intent_added", "intent_added"]
    assert received[1]["data"] == {"portfolio_id": portfolio["id"], "intent_id": intent["id"], "role": "dependency", "priority": 5}


def test_add_errors_in_order(api):
    portfolio, intent = create_portfolio(api), create_intent(api)
    response = add(api, "nope", "nope")
    assert response.status_code == 404 and response.json()["detail"] == "Portfolio not found"
    response = add(api, portfolio["id"], "00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["detail"] == "Intent not found"
    response = add(api, portfolio["id"], intent["id"], role="boss")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "role"]
    for priority in (1.5, 2**31, "high", True):
        response = add(api, portfolio["id"], intent["id"], priority=priority)
        assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "priority"]
    response = api.post(f"/api/v1/portfolios/{portfolio['id']}/intents", {}, format="json")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "intent_id"]
    assert not PortfolioMembership.objects.exists()


def test_remove_and_its_404s(api):
    portfolio, intent = create_portfolio(api), create_intent(api)
    add(api, portfolio["id"], intent["id"])
    response = api.delete(f"/api/v1/portfolios/{portfolio['id']}/intents/{intent['id']}")
    assert response.status_code == 200 and response.json() == {"message": "Intent removed from portfolio"}
    for pid, iid in ((portfolio["id"], intent["id"]), ("nope", intent["id"]), (portfolio["id"], "nope"),
                     ("00000000-0000-0000-0000-000000000000", intent["id"])):
        response = api.delete(f"/api/v1/portfolios/{pid}/intents/{iid}")
        assert response.status_code == 404 and response.json()["detail"] == "Membership not found"


def test_portfolio_intents_and_intent_portfolios(api):
    p1, p2 = create_portfolio(api, name="p1"), create_portfolio(api, name="p2")
    a, b = create_intent(api, "a"), create_intent(api, "b")
    add(api, p1["id"], b["id"])
    add(api, p1["id"], a["id"])
    add(api, p2["id"], a["id"])
    members = api.get(f"/api/v1/portfolios/{p1['id']}/intents").json()
    assert [i["id"] for i in members] == [b["id"], a["id"]]
    assert "parent_id" in members[0] and "parent_intent_id" in members[0]
    assert [p["id"] for p in api.get(f"/api/v1/intents/{a['id']}/portfolios").json()] == [p1["id"], p2["id"]]
    assert api.get("/api/v1/portfolios/nope/intents").json() == []
    assert api.get("/api/v1/intents/nope/portfolios").json() == []


def test_member_lists_leave_out_unreadable_intents(api):
    from intents import access
    from openintent_project.errors import Forbidden

    portfolio = create_portfolio(api)
    a, b = create_intent(api, "a"), create_intent(api, "b")
    add(api, portfolio["id"], a["id"])
    add(api, portfolio["id"], b["id"])

    def only_a(principal, intent, required):
        if str(intent.pk) != a["id"]:
            raise Forbidden({"error": "forbidden"})

    with mock.patch.object(access, "_access_evaluator", only_a):
        assert [i["id"] for i in api.get(f"/api/v1/portfolios/{portfolio['id']}/intents").json()] == [a["id"]]
        assert [i["id"] for i in api.get(f"/api/v1/portfolios/{portfolio['id']}").json()["intents"]] == [a["id"]]
        assert add(api, portfolio["id"], b["id"]).status_code == 403
        assert api.delete(f"/api/v1/portfolios/{portfolio['id']}/intents/{b['id']}").status_code == 403


# --- shared constraints -------------------------------------------------------------------------

def test_shared_constraints_are_inherited_and_taken_back(api):
    portfolio = create_portfolio(api, governance_policy={"shared_constraints": {"budget": 5000, "region": "eu"}})
    intent = create_intent(api, constraints={"region": "us"})
    add(api, portfolio["id"], intent["id"])
    fetched = api.get(f"/api/v1/intents/{intent['id']}").json()
    # The intent's own keys win; the version is untouched (README §7: portfolio routes).
    assert fetched["constraints"] == {"region": "us", "budget": 5000}
    assert fetched["version"] == intent["version"]
    api.delete(f"/api/v1/portfolios/{portfolio['id']}/intents/{intent['id']}")
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["constraints"] == {"region": "us"}


def test_removal_falls_back_to_another_portfolios_shared_constraints(api):
    p1 = create_portfolio(api, governance_policy={"shared_constraints": {"budget": 5000}})
    p2 = create_portfolio(api, governance_policy={"shared_constraints": {"budget": 3000, "deadline": "q2"}})
    intent = create_intent(api)
    add(api, p1["id"], intent["id"])
    add(api, p2["id"], intent["id"])
    assert Intent.objects.get(pk=intent["id"]).constraints == {"budget": 5000, "deadline": "q2"}
    api.delete(f"/api/v1/portfolios/{p1['id']}/intents/{intent['id']}")
    assert Intent.objects.get(pk=intent["id"]).constraints == {"budget": 3000, "deadline": "q2"}
    api.delete(f"/api/v1/portfolios/{p2['id']}/intents/{intent['id']}")
    assert Intent.objects.get(pk=intent["id"]).constraints == {}


def test_selector_portfolio_intent_ids(api):
    from intents.selectors_portfolios import portfolio_intent_ids

    portfolio = create_portfolio(api)
    a, b = create_intent(api, "a"), create_intent(api, "b")
    add(api, portfolio["id"], a["id"])
    add(api, portfolio["id"], b["id"])
    assert [str(pk) for pk in portfolio_intent_ids(portfolio["id"])] == [a["id"], b["id"]]
    assert portfolio_intent_ids("nope") == []
