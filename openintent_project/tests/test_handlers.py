"""The API and the site run through handlers that differ only in their middleware."""

from __future__ import annotations

import io
import sys

import pytest

from openintent_project.handlers import SplitWSGIApplication

pytestmark = pytest.mark.django_db


def call(app, path: str, **headers) -> tuple[str, dict, bytes]:
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "REMOTE_ADDR": "127.0.0.1",
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


def test_api_requests_skip_the_site_middleware():
    app = SplitWSGIApplication()
    status, headers, body = call(app, "/api/v1/intents", X_API_KEY="dev-user-key", ORIGIN="http://example.org")
    assert status.startswith("200")
    assert "X-Frame-Options" not in headers  # clickjacking middleware: site only
    assert "Set-Cookie" not in headers and "Cookie" not in headers.get("Vary", "")
    assert headers["Access-Control-Allow-Origin"] == "http://example.org"  # CORS: both
    assert headers["X-Content-Type-Options"] == "nosniff"  # security headers: both
    assert b'"intents"' in body


def test_api_errors_keep_the_protocol_shape_without_the_site_middleware():
    status, _, body = call(SplitWSGIApplication(), "/api/v1/intents")
    assert status.startswith("401") and b'"detail"' in body


def test_the_site_keeps_its_middleware():
    status, headers, _ = call(SplitWSGIApplication(), "/admin/login/")
    assert status.startswith("200")
    assert headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in headers.get("Set-Cookie", "")
