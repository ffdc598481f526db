"""The :class:`Client`: endpoint groups, the lease context manager and SSE streams."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests

from . import models as m
from .errors import LeaseConflictError, NotFoundError, OpenIntentError
from .resources import (
    Access, Agents, Attachments, Coordinator, Costs, Events, Governance, Intents, Leases, Memory, Plans,
    Portfolios, Retries, Subscriptions, Tasks, Triggers, Vaults,
)
from .streaming import EventStream
from .transport import Transport
from .validation import InvalidArgumentError, require_duration, require_id, require_text

log = logging.getLogger("openintent_sdk")


class Client:
    """A client for an OpenIntent server.

    ``Client(base_url, api_key, agent_id)`` sends ``X-API-Key`` and ``X-Agent-ID`` on every
    request. ``timeout`` (seconds, or a ``(connect, read)`` tuple) applies per request;
    ``retries`` is the number of extra attempts for retryable requests (see
    :mod:`openintent_sdk.transport`).

    Endpoint groups: ``intents``, ``events``, ``leases``, ``governance``, ``attachments``,
    ``subscriptions``, ``portfolios``, ``costs``, ``retries``, ``access``, ``tasks``, ``plans``,
    ``coordinator``, ``vaults`` (alias ``tools``), ``memory``, ``agents``, ``triggers``.
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8000", api_key: str | None = "dev-user-key",
                 agent_id: str | None = None, *, timeout: float | tuple[float, float] = 30.0,
                 retries: int = 3, backoff: float = 0.5, max_backoff: float = 30.0,
                 session: requests.Session | None = None) -> None:
        self.agent_id = agent_id
        self.transport = Transport(base_url, api_key, agent_id, timeout=timeout, retries=retries,
                                   backoff=backoff, max_backoff=max_backoff, session=session)
        self.intents = Intents(self)
        self.events = Events(self)
        self.leases = Leases(self)
        self.governance = Governance(self)
        self.attachments = Attachments(self)
        self.subscriptions = Subscriptions(self)
        self.portfolios = Portfolios(self)
        self.costs = Costs(self)
        self.retries = Retries(self)
        self.access = Access(self)
        self.tasks = Tasks(self)
        self.plans = Plans(self)
        self.coordinator = Coordinator(self)
        self.vaults = Vaults(self)
        self.tools = self.vaults
        self.memory = Memory(self)
        self.agents = Agents(self)
        self.triggers = Triggers(self)

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, agent_id={self.agent_id!r})"

    def with_agent(self, agent_id: str) -> "Client":
        """A client for another agent id with the same server, key and settings."""
        t = self.transport
        return Client(t.base_url, t.api_key, agent_id, timeout=t.timeout, retries=t.retries,
                      backoff=t.backoff, max_backoff=t.max_backoff)

    # --- discovery (spec README §8) ---------------------------------------------------------

    def discover(self) -> dict:
        return self.transport.request("GET", "/.well-known/openintent.json")

    def compat(self) -> dict:
        return self.transport.request("GET", "/.well-known/openintent-compat.json")

    def server_config(self) -> dict:
        return self.transport.request("GET", "/api/v1/server/config")

    def openapi(self) -> dict:
        return self.transport.request("GET", "/openapi.json")

    # --- leases -------------------------------------------------------------------------------

    def lease(self, intent_id: str, scope: str, duration_seconds: int = 60, *, renew_every: float | None = None,
              wait: float = 0.0, poll_interval: float = 0.5) -> "LeaseContext":
        """``with client.lease(intent_id, "scope") as lease:`` — acquire (waiting up to ``wait``
        seconds while another holder has the scope), renew in the background every
        ``renew_every`` seconds (default: a third of the duration) while held, release on exit
        even when the block raises."""
        require_id("intent_id", intent_id)
        require_text("scope", scope)
        require_duration("duration_seconds", duration_seconds)
        if wait < 0:
            raise InvalidArgumentError(f"wait must be >= 0 seconds, got {wait}")
        return LeaseContext(self, intent_id, scope, duration_seconds, renew_every=renew_every,
                            wait=wait, poll_interval=poll_interval)

    # --- streams ----------------------------------------------------------------------------

    def stream(self, *, intent_id: str | None = None, portfolio_id: str | None = None,
               agent_id: str | None = None, last_event_id: str | None = None, read_timeout: float = 45.0,
               reconnect: bool = True, max_failures: int | None = 10) -> EventStream:
        """An iterator of :class:`~openintent_sdk.models.StreamEvent` for one intent, portfolio
        or agent. It reconnects on drops and resumes with ``Last-Event-ID``. Use it as a
        context manager or call ``close()`` (from any thread) to stop it."""
        given = [(k, v) for k, v in (("intents", intent_id), ("portfolios", portfolio_id), ("agents", agent_id)) if v]
        if len(given) != 1:
            raise InvalidArgumentError("stream() needs exactly one of intent_id=, portfolio_id= or agent_id=")
        kind, ident = given[0]
        require_id(f"{kind[:-1]}_id", ident)
        return EventStream(self.transport, f"/api/v1/{kind}/{ident}/subscribe", last_event_id=last_event_id,
                           read_timeout=read_timeout, reconnect=reconnect, max_failures=max_failures)


class LeaseContext:
    """A held lease: ``.lease`` (the latest :class:`~openintent_sdk.models.Lease`), ``.lost``
    (set when a renewal failed, e.g. the lease expired and someone else took the scope),
    ``.renewals``."""

    def __init__(self, client: Client, intent_id: str, scope: str, duration_seconds: int, *,
                 renew_every: float | None, wait: float, poll_interval: float) -> None:
        self.client = client
        self.intent_id = intent_id
        self.scope = scope
        self.duration_seconds = duration_seconds
        self.renew_every = renew_every if renew_every is not None else max(0.5, duration_seconds / 3)
        self.wait = wait
        self.poll_interval = poll_interval
        self.lease: m.Lease | None = None
        self.lost = threading.Event()
        self.renewals = 0
        self.renew_error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def id(self) -> str | None:
        return self.lease.id if self.lease else None

    def acquire(self) -> m.Lease:
        deadline = time.monotonic() + self.wait
        delay = self.poll_interval
        while True:
            try:
                self.lease = self.client.leases.acquire(self.intent_id, self.scope, self.duration_seconds)
                break
            except LeaseConflictError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                time.sleep(min(delay, remaining))
                delay = min(delay * 1.5, 5.0)
        self._thread = threading.Thread(target=self._renew_loop, name=f"lease-renew-{self.scope}", daemon=True)
        self._thread.start()
        return self.lease

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                self.lease = self.client.leases.renew(self.intent_id, self.lease.id, self.duration_seconds)
                self.renewals += 1
            except (NotFoundError, LeaseConflictError) as exc:
                log.warning("lease %s on %s lost: %s", self.lease.id, self.scope, exc)
                self.renew_error = exc
                self.lost.set()
                return
            except OpenIntentError as exc:  # transient: try again next tick
                log.warning("lease %s renewal failed: %s", self.lease.id, exc)
                self.renew_error = exc

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        if self.lease is not None:
            try:
                self.client.leases.release(self.intent_id, self.lease.id)
            except OpenIntentError as exc:
                log.warning("releasing lease %s failed: %s", self.lease.id, exc)

    def __enter__(self) -> "LeaseContext":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
