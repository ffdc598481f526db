"""HTTP transport: one keep-alive ``requests.Session``, timeouts, and retries.

Retry rules:

* A request is *retryable* when its method is idempotent (GET, HEAD, OPTIONS, PUT, DELETE) or
  when it carries an idempotency key. A non-idempotent request (POST, PATCH) without a key is
  sent exactly once, whatever happens.
* A retryable request is retried on connection errors and timeouts, and on the answers
  429, 502, 503 and 504, at most ``retries`` times.
* The delay before retry *n* (1, 2, …) is exponential with full jitter:
  ``uniform(0, min(max_backoff, backoff * 2**(n-1)))``. A ``Retry-After`` header (seconds or
  an HTTP date) replaces it; when it asks for more than ``max_retry_after`` seconds the error
  is raised at once instead of sleeping.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from datetime import datetime, timezone
from typing import Any, Callable

import requests

from . import __version__
from .errors import TransportError, error_from_response

log = logging.getLogger("openintent_sdk")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); ``None`` if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class Transport:
    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        agent_id: str | None,
        *,
        timeout: float | tuple[float, float] = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url or not isinstance(base_url, str):
            raise ValueError("base_url must be a non-empty string such as 'http://127.0.0.1:8000'")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.agent_id = agent_id
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update(self.default_headers())

    def default_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"openintent-sdk/{__version__}"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        if self.agent_id:
            headers["X-Agent-ID"] = self.agent_id
        return headers

    def url(self, path: str) -> str:
        if path.startswith("http://") or path.startswith("https://"):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential delay before retry number ``attempt`` (1-based)."""
        cap = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        return random.uniform(0, cap)

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotency_key: str | None = None,
        expect_json: bool = True,
        timeout: float | tuple[float, float] | None = None,
        send_body: bool | None = None,
    ) -> Any:
        """Send one request (with retries when allowed) and return the parsed JSON body, the
        raw bytes when ``expect_json`` is false, or ``None`` for an empty body. Raises the
        matching :mod:`openintent_sdk.errors` exception for any non-2xx answer."""
        method = method.upper()
        hdrs = dict(headers or {})
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        data = None
        if send_body if send_body is not None else json_body is not None:
            hdrs["Content-Type"] = "application/json"
            data = json.dumps({} if json_body is None else json_body).encode()
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        retryable = method in IDEMPOTENT_METHODS or bool(idempotency_key)
        url = self.url(path)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, data=data, params=params or None, headers=hdrs,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if retryable and attempt <= self.retries:
                    delay = self.backoff_delay(attempt)
                    log.debug("%s %s failed (%s); retry %d in %.2fs", method, url, exc, attempt, delay)
                    self.sleep(delay)
                    continue
                raise TransportError(f"{method} {url} failed: {exc}") from exc
            if response.status_code < 400:
                if not expect_json:
                    return response.content
                if not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    return response.text
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retryable and response.status_code in RETRY_STATUSES and attempt <= self.retries:
                if retry_after is None or retry_after <= self.max_retry_after:
                    delay = retry_after if retry_after is not None else self.backoff_delay(attempt)
                    log.debug("%s %s answered %d; retry %d in %.2fs", method, url, response.status_code, attempt, delay)
                    response.close()
                    self.sleep(delay)
                    continue
            raise error_from_response(response, retry_after=retry_after)
