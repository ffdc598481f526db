"""Inbound webhooks (17 §3 NEW): public route, HMAC signature, timestamp replay window."""

import json
import time

import pytest
from django.test import Client

from intents.models import Intent
from triggers.kinds.webhook import signature_for
from triggers.models import TriggerFire

from .factories import make_trigger

SECRET = "whsec-test"


@pytest.fixture
def hook(db):
    return make_trigger(type="webhook", name="stripe", condition={
        "path": "/hooks/stripe-payment", "secret": SECRET,
        "transform": {"amount": "{{ body.data.amount }}", "source_ip": "{{ headers.x-forwarded-for }}"},
    }, intent_template={"type": "payment", "title": "Payment {{ body.id }}", "context": {"q": "{{ query.mode }}"}})


def post(path, body, *, secret=SECRET, timestamp=None, signature=None, **headers):
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    if signature is None and secret:
        signature = signature_for(secret, raw, timestamp or None)
    extra = {**headers}
    if signature:
        extra["HTTP_X_OPENINTENT_SIGNATURE"] = signature
    if timestamp:
        extra["HTTP_X_OPENINTENT_TIMESTAMP"] = timestamp
    return Client().post(path, raw, content_type="application/json", **extra)


def test_a_correctly_signed_post_creates_the_intent_without_an_api_key(hook):
    response = post("/webhooks/hooks/stripe-payment?mode=live", {"id": "evt_1", "data": {"amount": 42}}, HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["trigger_id"] == str(hook.pk)
    intent = Intent.objects.get(pk=body["intent_id"])
    assert intent.title == "Payment evt_1"
    assert intent.state["amount"] == 42 and intent.state["source_ip"] == "1.2.3.4" and intent.state["q"] == "live"
    assert intent.state["_trigger"]["source"] == "webhook"


def test_a_bad_or_missing_signature_is_401(hook):
    for signature in ("sha256=" + "0" * 64, "garbage"):
        response = post("/webhooks/hooks/stripe-payment", {"id": "x"}, signature=signature)
        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid webhook signature"
    assert post("/webhooks/hooks/stripe-payment", {"id": "x"}, secret=None).status_code == 401
    assert post("/webhooks/hooks/stripe-payment", {"id": "x"}, secret="wrong-secret").status_code == 401
    assert not Intent.objects.exists()


def test_an_old_or_missing_timestamp_is_refused(hook):
    old = str(int(time.time()) - 3600)
    response = post("/webhooks/hooks/stripe-payment", {"id": "x"}, timestamp=old)
    assert response.status_code == 401 and "timestamp" in response.json()["detail"]
    # A signature over the bare body without any signed timestamp is not replay-safe: refused.
    assert post("/webhooks/hooks/stripe-payment", {"id": "x"}, timestamp="").status_code == 401
    # The body's own signed "timestamp" (what our outbound webhooks send) is accepted.
    assert post("/webhooks/hooks/stripe-payment", {"id": "x", "timestamp": time.time()}, timestamp="").status_code == 202
    assert Intent.objects.count() == 1


def test_a_replayed_delivery_is_deduplicated(hook):
    raw = json.dumps({"id": "evt_2"}).encode()
    ts = str(int(time.time()))
    headers = {"HTTP_X_OPENINTENT_SIGNATURE": signature_for(SECRET, raw, ts), "HTTP_X_OPENINTENT_TIMESTAMP": ts}
    first = Client().post("/webhooks/hooks/stripe-payment", raw, content_type="application/json", **headers)
    again = Client().post("/webhooks/hooks/stripe-payment", raw, content_type="application/json", **headers)
    assert first.status_code == 202
    assert again.status_code == 200 and again.json() == {"deduplicated": True, "trigger_id": str(hook.pk)}
    assert Intent.objects.count() == 1


def test_unknown_disabled_or_wrong_method_routes_are_404(hook):
    assert post("/webhooks/hooks/nothing-here", {}).status_code == 404
    assert Client().put("/webhooks/hooks/stripe-payment", b"{}", content_type="application/json").status_code == 404
    from triggers import services
    from .factories import OWNER

    services.trigger_set_enabled(principal=OWNER, trigger_id=hook.pk, enabled=False)
    assert post("/webhooks/hooks/stripe-payment", {"id": "x"}).status_code == 404


def test_the_rate_limit_is_per_trigger(hook, settings):
    settings.TRIGGERS_WEBHOOK_RATE_LIMIT = 2
    assert post("/webhooks/hooks/stripe-payment", {"id": 1}).status_code == 202
    assert post("/webhooks/hooks/stripe-payment", {"id": 2}).status_code == 202
    limited = post("/webhooks/hooks/stripe-payment", {"id": 3})
    assert limited.status_code == 429 and limited["Retry-After"]
    assert Intent.objects.count() == 2


def test_a_webhook_without_secret_accepts_unsigned_posts_and_skip_dedup(db):
    trigger = make_trigger(type="webhook", condition={"path": "open"}, deduplication="skip", intent_template={"type": "t"})
    first = Client().post("/webhooks/open", b"plain text", content_type="text/plain")
    assert first.status_code == 202
    second = Client().post("/webhooks/open", b"plain text", content_type="text/plain")
    assert second.status_code == 200 and second.json() == {"deduplicated": True, "trigger_id": str(trigger.pk)}
    assert [f.outcome for f in TriggerFire.objects.all()] == ["skipped", "fired"]
