"""RFC-0006 §2 webhook subscriptions: routes, outbox, delivery, signing, SSRF refusal."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from conftest import make_client
from intents import events
from intents.models import Delivery, DeliveryAttempt, DeliveryStatus
from intents.services import core
from intents.services import subscriptions as services

from .webhook_receiver import Receiver, verify

LOOPBACK = override_settings(WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])


def create_intent(api):
    return api.post("/api/v1/intents", {"title": "Hooks"}, format="json").json()


def subscribe(api, **body):
    return api.post("/api/v1/subscriptions", body, format="json")


def test_create_list_delete_with_the_sdk_body(api):
    intent = create_intent(api)
    body = {"intent_id": intent["id"], "portfolio_id": None, "subscriber_id": None, "event_types": ["comment"],
            "webhook_url": "https://hooks.invalid/x", "expires_at": None}
    response = subscribe(api, **body)
    assert response.status_code == 200, response.content
    created = response.json()
    assert created["intent_id"] == intent["id"] and created["portfolio_id"] is None
    assert created["subscriber_id"] == "agent-owner" and created["event_types"] == ["comment"]
    assert created["active"] is True and created["secret"].startswith("whsec_")
    assert created["createdAt"] == created["created_at"] and "Z" not in created["created_at"]
    listed = api.get("/api/v1/subscriptions", {"intent_id": intent["id"]}).json()
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]  # shown once
    assert api.delete(f"/api/v1/subscriptions/{created['id']}").status_code == 204
    assert api.get("/api/v1/subscriptions", {"intent_id": intent["id"]}).json() == []
    assert api.delete(f"/api/v1/subscriptions/{created['id']}").status_code == 404


def test_naive_expiry_is_read_as_utc(api):
    created = subscribe(api, expires_at="2030-01-01T12:00:00").json()
    assert created["expires_at"] == "2030-01-01T12:00:00" and created["expiresAt"] == "2030-01-01T12:00:00"


@pytest.mark.parametrize(
    "body, status",
    [
        ({"intent_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"intent_id": "nope"}, 404),
        ({"portfolio_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"webhook_url": "ftp://example.com/x"}, 400),
        ({"webhook_url": "not a url"}, 400),
        ({"webhook_url": 5}, 400),
        ({"event_types": "comment"}, 400),
        ({"event_types": [1]}, 400),
        ({"expires_at": "tomorrow"}, 400),
        ({"webhook_url": "http://127.0.0.1:9/x"}, 400),
        ({"webhook_url": "http://169.254.169.254/latest"}, 400),
        ({"webhook_url": "http://10.1.2.3/x"}, 400),
        ({"webhook_url": "http://[::1]/x"}, 400),
        ({"webhook_url": "http://localhost/x"}, 400),
    ],
)
def test_invalid_bodies(api, body, status):
    response = subscribe(api, **body)
    assert response.status_code == status, response.content


def test_loopback_is_allowed_only_through_the_allow_list(api):
    with LOOPBACK:
        assert subscribe(api, webhook_url="http://127.0.0.1:9/x").status_code == 200
        assert subscribe(api, webhook_url="http://10.1.2.3/x").status_code == 400


def test_only_the_creator_or_an_operator_may_unsubscribe(api):
    created = subscribe(api).json()
    assert make_client(agent_id="someone-else").delete(f"/api/v1/subscriptions/{created['id']}").status_code == 403
    assert make_client(api_key="operator-key").delete(f"/api/v1/subscriptions/{created['id']}").status_code == 204


def test_requires_api_key(db):
    assert make_client(api_key=None).get("/api/v1/subscriptions").status_code == 401


# --- outbox and delivery (Celery is eager in unit tests) ------------------------------------

@LOOPBACK
def test_matching_events_are_delivered_signed(api, django_capture_on_commit_callbacks):
    receiver = Receiver()
    try:
        intent = create_intent(api)
        secret = subscribe(api, intent_id=intent["id"], event_types=["comment"], webhook_url=receiver.url).json()["secret"]
        global_secret = subscribe(api, webhook_url=receiver.url).json()["secret"]
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a", "payload": {"x": 1}}, format="json")
            api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "other", "actor": "a", "payload": {}}, format="json")
        # intent-scoped (comment only) + global (both events)
        assert len(receiver.requests) == 3
        bodies = [json.loads(r["body"]) for r in receiver.requests]
        assert sorted(b["event"]["event_type"] for b in bodies) == ["comment", "comment", "other"]
        for request, body in zip(receiver.requests, bodies):
            key = secret if body["subscription_id"] != _global_id(api) else global_secret
            assert verify(key, request["headers"], request["body"])
            assert set(body["event"]) >= {"id", "intent_id", "event_type", "actor", "payload", "created_at"}
        assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 3
    finally:
        receiver.close()


def _global_id(api):
    return next(s["id"] for s in api.get("/api/v1/subscriptions").json() if s["intent_id"] is None)


@LOOPBACK
@override_settings(WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_BACKOFF_BASE_SECONDS=10, WEBHOOK_BACKOFF_MAX_SECONDS=15)
def test_failures_back_off_then_fail_and_every_attempt_is_recorded(api, owner, django_capture_on_commit_callbacks):
    receiver = Receiver(default=500)
    try:
        intent = create_intent(api)
        subscribe(api, intent_id=intent["id"], webhook_url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a"}, format="json")
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
        assert 8 < wait <= 10
        for expected_wait in (15, None):  # 10·2 capped at 15, then give up
            Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            services.deliveries_sweep()
            delivery.refresh_from_db()
            if expected_wait:
                assert 13 < (delivery.next_attempt_at - timezone.now()).total_seconds() <= expected_wait
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
        assert list(DeliveryAttempt.objects.filter(delivery=delivery).values_list("number", "status_code", "succeeded")) == [
            (1, 500, False), (2, 500, False), (3, 500, False)
        ]
        # The operator's redeliver (admin action) goes through the service.
        receiver.default = 204
        with django_capture_on_commit_callbacks(execute=True):
            services.delivery_redeliver(principal=owner, delivery_id=delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 4
    finally:
        receiver.close()


@override_settings(WEBHOOK_MAX_ATTEMPTS=5)
def test_delivery_time_check_refuses_private_addresses(api, django_capture_on_commit_callbacks):
    receiver = Receiver()
    try:
        intent = create_intent(api)
        with LOOPBACK:
            subscribe(api, intent_id=intent["id"], webhook_url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):  # allow-list gone now
            api.post(f"/api/v1/intents/{intent['id']}/events", {"event_type": "comment", "actor": "a"}, format="json")
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.FAILED and "disallowed address" in delivery.last_error
        assert receiver.requests == []
    finally:
        receiver.close()


def test_outbox_rows_roll_back_with_the_event(db, owner):
    intent = core.intent_create(principal=owner, title="x")
    services.subscription_create(principal=owner, webhook_url="https://hooks.invalid/x")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            events.record(core.intent_lock(intent.pk), "comment", "a", {})
            raise RuntimeError
    assert Delivery.objects.filter(event__event_type="comment").count() == 0


@LOOPBACK
def test_sweep_reenqueues_deliveries_left_by_a_dead_worker(db, owner, django_capture_on_commit_callbacks):
    ok = Receiver()
    try:
        intent = core.intent_create(principal=owner, title="x")
        services.subscription_create(principal=owner, intent_id=str(intent.pk), webhook_url=ok.url)
        with transaction.atomic():  # no on_commit execution: as if the enqueue were lost
            events.record(core.intent_lock(intent.pk), "comment", "a", {})
        delivery = Delivery.objects.get()
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING, claimed_at=timezone.now() - timedelta(hours=1))
        services.deliveries_sweep()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and len(ok.requests) == 1
    finally:
        ok.close()


def test_backoff_is_exponential_and_capped():
    with override_settings(WEBHOOK_BACKOFF_BASE_SECONDS=2, WEBHOOK_BACKOFF_MAX_SECONDS=20):
        assert [services.backoff_seconds(n) for n in range(1, 6)] == [2, 4, 8, 16, 20]


def test_signature_matches_the_standard_webhooks_example():
    # Test vector from the Standard Webhooks specification's reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert services.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@LOOPBACK
def test_admin_lists_deliveries_with_attempts_and_redelivers(db, owner, client, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import User

    receiver = Receiver(statuses=[500], default=200)
    try:
        intent = core.intent_create(principal=owner, title="x")
        services.subscription_create(principal=owner, intent_id=str(intent.pk), webhook_url=receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            core.event_append(principal=owner, intent_id=intent.pk, event_type="comment", actor="a")
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.PENDING
        client.force_login(User.objects.create_superuser("admin", "a@example.com", "pw"))
        assert client.get("/admin/intents/delivery/").status_code == 200
        page = client.get(f"/admin/intents/delivery/{delivery.pk}/change/")
        assert page.status_code == 200 and b"HTTP 500" in page.content
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/admin/intents/delivery/", {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED
        assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 2
        subscription_page = client.get("/admin/intents/subscription/")
        assert subscription_page.status_code == 200 and b"whsec_" not in subscription_page.content
    finally:
        receiver.close()


def test_delivery_refuses_a_private_peer_even_if_the_name_checked_as_public(settings):
    """DNS rebinding: the address connected to is checked again, not only the one resolved."""
    import http.server
    import threading

    from intents.services.subscriptions import UrlRefused, _delivery_session

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with _delivery_session() as session, pytest.raises(UrlRefused):
        session.post(f"http://127.0.0.1:{server.server_port}/hook", data=b"{}", timeout=3)
    server.server_close()
