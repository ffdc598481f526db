"""API keys created by operators are stored hashed and authenticate until revoked."""

from agents_registry.models import ApiKey
from agents_registry.services import api_key_create, api_key_revoke
from conftest import make_client


def test_created_key_authenticates_as_its_principal_and_is_stored_hashed(db):
    api_key, raw = api_key_create(name="ci", principal="ci-bot")
    assert raw not in str(ApiKey.objects.values_list().get())
    response = make_client(api_key=raw).post("/api/v1/intents", {"title": "x"}, format="json")
    assert response.status_code == 200 and response.json()["created_by"] == "ci-bot"


def test_revoked_key_is_refused(db):
    api_key, raw = api_key_create(name="ci")
    assert api_key_revoke(api_key=api_key) is True
    assert api_key_revoke(api_key=api_key) is False
    assert make_client(api_key=raw).get("/api/v1/intents").status_code == 401


def test_configured_keys_replace_dev_keys(db, settings):
    settings.OPENINTENT_API_KEYS = ["only-this"]
    assert make_client(api_key="dev-user-key").get("/api/v1/intents").status_code == 401
    assert make_client(api_key="only-this").get("/api/v1/intents").status_code == 200


def test_dev_keys_do_not_exist_outside_dev_mode(db, settings):
    settings.OPENINTENT_DEV_MODE = False
    assert make_client(api_key="dev-user-key").get("/api/v1/intents").status_code == 401


def test_admin_shows_a_new_key_once(admin_client):
    response = admin_client.post("/admin/agents_registry/apikey/add/", {"name": "bot", "principal": "bot"}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any("oi_" in m for m in shown)
    key = ApiKey.objects.get()
    assert key.prefix.startswith("oi_") and len(key.digest) == 64
