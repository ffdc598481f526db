"""POST /intents/{id}/state: patch semantics, If-Match, and errors (01)."""

import pytest

from intents.models import Event


@pytest.fixture
def intent(api):
    return api.post("/api/v1/intents", {"title": "t", "state": {"a": {"b": 1}, "list": [1], "n": 5}}, format="json").json()


def patch(api, intent_id, body, version="1"):
    headers = {} if version is None else {"HTTP_IF_MATCH": version}
    return api.post(f"/api/v1/intents/{intent_id}/state", body, format="json", **headers)


def test_set_creates_missing_objects_and_keeps_nested_changes(api, intent):
    response = patch(api, intent["id"], {"patches": [
        {"op": "set", "path": "/x/y/z", "value": 1},
        {"op": "set", "path": "a/c", "value": 2},
        {"op": "append", "path": "list", "value": 2},
    ]})
    assert response.status_code == 200, response.content
    state = response.json()["state"]
    assert state["x"] == {"y": {"z": 1}}
    assert state["a"] == {"b": 1, "c": 2}
    assert state["list"] == [1, 2]
    # Persisted, not only echoed (REF lost nested changes).
    assert api.get(f"/api/v1/intents/{intent['id']}").json()["state"] == state


def test_append_replaces_a_scalar_and_creates_intermediates(api, intent):
    state = patch(api, intent["id"], {"patches": [
        {"op": "append", "path": "n", "value": "v"},
        {"op": "append", "path": "deep/er", "value": 1},
    ]}).json()["state"]
    assert state["n"] == ["v"] and state["deep"] == {"er": [1]}


def test_remove_is_a_no_op_when_missing(api, intent):
    response = patch(api, intent["id"], {"patches": [
        {"op": "remove", "path": "a/b"}, {"op": "remove", "path": "nope/deeper"}, {"op": "remove", "path": "n/x"},
    ]})
    assert response.json()["state"]["a"] == {}


def test_merge_shorthand_and_slash_keys(api, intent):
    state = patch(api, intent["id"], {"state": {"k/j": 1, "top": True}}).json()["state"]
    assert state["k"] == {"j": 1} and state["top"] is True


def test_empty_patch_still_bumps_version_and_logs(api, intent):
    response = patch(api, intent["id"], {})
    assert response.json()["version"] == 2
    event = Event.objects.filter(intent_id=intent["id"], event_type="state_patched").get()
    assert event.payload == {"patches": [], "version": 2}


def test_bad_paths_and_ops_reject_the_whole_request(api, intent):
    for body, loc in [
        ({"patches": [{"op": "set", "path": "/", "value": 1}]}, ["body", "patches", 0, "path"]),
        ({"patches": [{"op": "set", "path": "ok", "value": 1}, {"op": "set", "path": "n/x", "value": 1}]}, ["body", "patches", 1, "path"]),
        ({"patches": [{"op": "move", "path": "a"}]}, ["body", "patches", 0, "op"]),
        ({"patches": [{"path": "a"}]}, ["body", "patches", 0, "op"]),
    ]:
        response = patch(api, intent["id"], body)
        assert response.status_code == 400, body
        assert response.json()["detail"][0]["loc"] == loc
    current = api.get(f"/api/v1/intents/{intent['id']}").json()
    assert current["version"] == 1 and "ok" not in current["state"]


@pytest.mark.parametrize("header", ["1", " 1 ", '"1"', 'W/"1"'])
def test_if_match_accepts_bare_and_etag_forms(api, intent, header):
    assert patch(api, intent["id"], {"state": {"a": 1}}, version=header).status_code == 200


@pytest.mark.parametrize("header", [None, "abc", "1.5", ""])
def test_if_match_missing_or_bad_is_400(api, intent, header):
    response = patch(api, intent["id"], {"state": {"a": 1}}, version=header)
    assert response.status_code == 400
    assert response.json()["detail"] == "If-Match header required"


def test_stale_version_is_409_with_current_version_and_no_lease_word(api, intent):
    patch(api, intent["id"], {"state": {"a": 1}})
    response = patch(api, intent["id"], {"state": {"a": 2}})
    assert response.status_code == 409
    body = response.json()
    assert body["current_version"] == 2 and body["detail"] == "Version conflict"
    assert "lease" not in response.content.decode().lower()


def test_unknown_intent_is_404_before_version(api):
    assert patch(api, "nonexistent-id", {"state": {}}).status_code == 404


def test_etag_carries_the_version(api, intent):
    assert patch(api, intent["id"], {"state": {"a": 1}})["ETag"] == '"2"'
