"""Webhook subscriptions (RFC-0006 §2): records, a durable outbox, signed delivery.

The outbox row (``Delivery``) is written inside the event's transaction
(``event_recorded``), so an event and its deliveries commit or roll back together; the
Celery task is enqueued after commit. A delivery is claimed with a conditional update, so
two workers never send it twice at once; beat's sweep re-enqueues due retries and claims
left behind by a dead worker. At-least-once: a receiver should de-duplicate on
``webhook-id``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import Iterable
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from openintent_project.api.principal import Principal
from openintent_project.errors import Forbidden, InvalidInput, NotFound

from .. import access
from ..access import Permission
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Event, Intent, Portfolio, PortfolioMembership, Subscription
from ..representations import event_dict
from .core import _as_uuid

SUBSCRIPTION_NOT_FOUND = "Subscription not found"


# --- outbound address policy (SSRF) --------------------------------------------------------

class UrlRefused(Exception):
    pass


def _allowed_networks():
    return [ipaddress.ip_network(n.strip(), strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS if n.strip()]


def _public(address) -> bool:
    return not (
        address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
        or address.is_reserved or address.is_unspecified
        or (address.version == 6 and address.ipv4_mapped is not None and not _public(address.ipv4_mapped))
    )


def check_addresses(host: str, port: int | None) -> list[str]:
    """Resolve ``host`` and raise ``UrlRefused`` if any address is loopback, private,
    link-local, multicast or reserved and not in ``WEBHOOK_ALLOWED_NETWORKS``. Raises
    ``socket.gaierror`` when the name does not resolve."""
    infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    allowed = _allowed_networks()
    addresses = sorted({info[4][0].split("%")[0] for info in infos})
    for raw in addresses:
        address = ipaddress.ip_address(raw)
        if not _public(address) and not any(address in net for net in allowed):
            raise UrlRefused(f"webhook_url resolves to a disallowed address ({address})")
    return addresses


def _check_connected_peer(sock) -> None:
    """The address actually connected to must pass the same rule: the name may resolve
    differently at connect time than when it was checked (DNS rebinding)."""
    address = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
    if not _public(address) and not any(address in net for net in _allowed_networks()):
        sock.close()
        raise UrlRefused(f"webhook_url connected to a disallowed address ({address})")


def _delivery_session() -> requests.Session:
    from vaults.netguard import GuardedAdapter

    session = requests.Session()
    for scheme in ("http://", "https://"):
        session.mount(scheme, GuardedAdapter(max_retries=0, peer_check=_check_connected_peer))
    return session


def _validate_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput.at(("body", "webhook_url"), "URL must start with http:// or https://", type="url_scheme", input=url)
    try:
        check_addresses(parts.hostname, parts.port)
    except UrlRefused as refused:
        raise InvalidInput.at(("body", "webhook_url"), str(refused), type="url_refused", input=url)
    except (socket.gaierror, UnicodeError, OSError):
        # Unresolvable now (e.g. hooks.invalid): accepted; deliveries fail quietly (06).
        pass


# --- records --------------------------------------------------------------------------------

def _portfolio_exists(portfolio_id) -> bool:
    return Portfolio.objects.filter(pk=portfolio_id).exists()


def portfolio_ids_for_intent(intent_id) -> list:
    """Portfolios the intent belongs to."""
    return list(PortfolioMembership.objects.filter(intent_id=intent_id).values_list("portfolio_id", flat=True))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@transaction.atomic
def subscription_create(
    *,
    principal: Principal,
    intent_id: str | None = None,
    portfolio_id: str | None = None,
    subscriber_id: str | None = None,
    event_types: Iterable[str] = (),
    webhook_url: str | None = None,
    expires_at: datetime | None = None,
) -> Subscription:
    """Create a subscription. The signing secret is on the returned object (``secret``);
    it is shown once, in the create response. Raises NotFound, Forbidden, InvalidInput."""
    intent_pk = portfolio_pk = None
    if intent_id:
        intent_pk = _as_uuid(intent_id)
        intent = Intent.objects.filter(pk=intent_pk).first() if intent_pk else None
        if intent is None:
            raise NotFound("Intent not found")
        access.require_permission(principal, intent, Permission.READ)
    if portfolio_id:
        portfolio_pk = _as_uuid(portfolio_id)
        if portfolio_pk is None or not _portfolio_exists(portfolio_pk):
            raise NotFound("Portfolio not found")
    if webhook_url:
        _validate_url(webhook_url)
    return Subscription.objects.create(
        intent_id=intent_pk,
        portfolio_id=portfolio_pk,
        subscriber_id=subscriber_id or principal.id,
        event_types=list(dict.fromkeys(event_types)),
        webhook_url=webhook_url or None,
        secret=new_secret(),
        expires_at=expires_at,
        created_by=principal.id,
    )


def subscription_list(*, principal: Principal, intent_id: str | None = None, portfolio_id: str | None = None) -> list[Subscription]:
    qs = Subscription.objects.filter(active=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if intent_id:
        pk = _as_uuid(intent_id)
        if pk is None:
            return []
        qs = qs.filter(intent_id=pk)
    if portfolio_id:
        pk = _as_uuid(portfolio_id)
        if pk is None:
            return []
        qs = qs.filter(portfolio_id=pk)
    return list(qs)


@transaction.atomic
def subscription_delete(*, principal: Principal, subscription_id: str) -> None:
    """Deactivate (kept for the delivery history). Only its creator, its subscriber or an
    operator may remove it."""
    pk = _as_uuid(subscription_id)
    subscription = Subscription.objects.select_for_update().filter(pk=pk, active=True).first() if pk else None
    if subscription is None:
        raise NotFound(SUBSCRIPTION_NOT_FOUND)
    if not principal.is_operator and principal.id not in (subscription.created_by, subscription.subscriber_id):
        raise Forbidden("Principal may not remove this subscription")
    subscription.active = False
    subscription.save(update_fields=["active"])
    Delivery.objects.filter(subscription=subscription, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error="subscription removed"
    )


# --- outbox ---------------------------------------------------------------------------------

def matching_subscriptions(event: Event) -> list[Subscription]:
    """Active webhook subscriptions for the event's intent, its portfolios, or everything:
    one query on every event write."""
    member_of = PortfolioMembership.objects.filter(intent_id=event.intent_id).values("portfolio_id")
    scope = (
        Q(intent_id=event.intent_id)
        | Q(intent_id__isnull=True, portfolio_id__isnull=True)
        | Q(portfolio_id__in=member_of)
    )
    candidates = Subscription.objects.filter(scope, active=True, webhook_url__isnull=False).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    return [s for s in candidates if not s.event_types or event.event_type in s.event_types]


ACTIVE_WEBHOOKS = "intents.active_webhook_subscriptions"


def active_webhooks():
    """Subscriptions that may deliver events by webhook (registered with ``record`` as an
    interest: see ``intents.streams.receivers``)."""
    return Subscription.objects.filter(active=True, webhook_url__isnull=False)


def on_event_recorded(sender, event: Event, interests, **kwargs) -> None:
    """Inside the event's transaction: write its outbox rows. Most writes happen with no
    webhook subscribed at all; a cheap existence check (``ACTIVE_WEBHOOKS``, asked with the
    other apps' in one statement) spares them the matching query."""
    if not interests[ACTIVE_WEBHOOKS]:
        return
    subscriptions = matching_subscriptions(event)
    if subscriptions:
        now = timezone.now()
        deliveries = Delivery.objects.bulk_create(
            [Delivery(subscription=s, event=event, next_attempt_at=now, created_at=now) for s in subscriptions]
        )
        event._webhook_delivery_ids = [delivery.pk for delivery in deliveries]


def on_event_committed(sender, event: Event, **kwargs) -> None:
    for delivery_id in getattr(event, "_webhook_delivery_ids", ()):
        _enqueue(delivery_id)


def _enqueue(delivery_id, countdown: float | None = None) -> None:
    from ..tasks import webhook_deliver_task

    try:
        if countdown:
            webhook_deliver_task.apply_async(args=[str(delivery_id)], countdown=countdown)
        else:
            webhook_deliver_task.delay(str(delivery_id))
    except Exception:  # noqa: BLE001 - the row is durable; beat's sweep enqueues it again
        import logging

        logging.getLogger(__name__).warning("could not enqueue delivery %s", delivery_id, exc_info=True)


# --- delivery -------------------------------------------------------------------------------

def backoff_seconds(attempt: int) -> float:
    """Delay after failed attempt number ``attempt`` (1-based): BASE·2^(n-1), capped."""
    return min(settings.WEBHOOK_BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)), settings.WEBHOOK_BACKOFF_MAX_SECONDS)


def delivery_body(delivery: Delivery) -> bytes:
    event = event_dict(delivery.event)
    return json.dumps({"subscription_id": str(delivery.subscription_id), "event": event}).encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
    the key being the base64 part of ``whsec_…``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _claim(delivery_id) -> bool:
    now = timezone.now()
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
            status=DeliveryStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def delivery_attempt(delivery_id) -> str | None:
    """Make one attempt if the delivery is due; returns its new status (None if not ours).
    No transaction is held during the HTTP call (STYLE §2)."""

    pk = _as_uuid(delivery_id)
    if pk is None or not _claim(pk):
        return None
    delivery = Delivery.objects.select_related("subscription", "event").get(pk=pk)
    subscription = delivery.subscription
    number = delivery.attempt_log.count() + 1
    started = timezone.now()
    clock = time.monotonic()
    status_code = None
    error = ""
    permanent = False
    if not subscription.active or not subscription.webhook_url or (
        subscription.expires_at is not None and subscription.expires_at <= started
    ):
        error, permanent = "subscription inactive or expired", True
    else:
        url = subscription.webhook_url
        parts = urlsplit(url)
        try:
            check_addresses(parts.hostname or "", parts.port)
            body = delivery_body(delivery)
            message_id = f"msg_{delivery.pk.hex}"
            timestamp = int(time.time())
            with _delivery_session() as session:
                response = session.post(
                    url,
                    data=body,
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": "openintent-django-server webhooks",
                        "webhook-id": message_id,
                        "webhook-timestamp": str(timestamp),
                        "webhook-signature": sign(subscription.secret, message_id, timestamp, body),
                    },
                    timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                    allow_redirects=False,
                )
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except UrlRefused as refused:
            error, permanent = str(refused), True
        except (OSError, requests.RequestException) as failure:
            error = f"{type(failure).__name__}: {failure}"[:2000]
    succeeded = not error
    DeliveryAttempt.objects.create(
        delivery=delivery, number=number, started_at=started,
        duration_ms=int((time.monotonic() - clock) * 1000), status_code=status_code,
        error=error, succeeded=succeeded,
    )
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=pk, status=DeliveryStatus.SENDING)
    if succeeded:
        claimed.update(status=DeliveryStatus.DELIVERED, delivered_at=now, last_error="", claimed_at=None)
        return DeliveryStatus.DELIVERED
    if permanent or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        claimed.update(status=DeliveryStatus.FAILED, last_error=error, claimed_at=None)
        return DeliveryStatus.FAILED
    delay = backoff_seconds(delivery.attempts)
    claimed.update(status=DeliveryStatus.PENDING, last_error=error, claimed_at=None, next_attempt_at=now + timedelta(seconds=delay))
    _enqueue(pk, countdown=delay)
    return DeliveryStatus.PENDING


def deliveries_sweep() -> int:
    """Re-enqueue due retries and deliveries whose worker vanished mid-attempt. Idempotent:
    the attempt itself claims the row."""
    now = timezone.now()
    stuck_before = now - timedelta(seconds=settings.WEBHOOK_STUCK_SECONDS)
    Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=stuck_before).update(
        status=DeliveryStatus.PENDING, claimed_at=None, next_attempt_at=now
    )
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:1000]
    )
    for pk in due:
        _enqueue(pk)
    return len(due)


def delivery_redeliver(*, principal: Principal, delivery_id) -> Delivery:
    """Operator action: send again now, with a fresh round of attempts."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=_as_uuid(delivery_id)).first()
        if delivery is None:
            raise NotFound("Delivery not found")
        if delivery.status == DeliveryStatus.SENDING:
            return delivery
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        transaction.on_commit(lambda: _enqueue(delivery.pk))
    return delivery
