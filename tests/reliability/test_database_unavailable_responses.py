"""A database outage is a clean, retryable 503 in the protocol shape wherever it strikes:
in a view, in authentication (stored API keys are looked up in the database) and in
middleware, before DRF is involved (issue 9). The live version of this, with the connection
really cut, is test_fault_database.py."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client, override_settings

from conftest import make_client

UNAVAILABLE = {"detail": "Service temporarily unavailable", "message": "Service temporarily unavailable"}


def assert_503(response) -> None:
    assert response.status_code == 503, response.content
    assert response.json() == UNAVAILABLE
    assert response["Retry-After"] == "1"


@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_lost_connection_in_a_view_is_503(api, error):
    with mock.patch("intents.services.intent_create", side_effect=error):
        assert_503(api.post("/api/v1/intents", {"title": "x"}, format="json"))


def test_a_lost_connection_while_authenticating_a_stored_key_is_503_not_401(db):
    with mock.patch("agents_registry.services.api_key_authenticate", side_effect=OperationalError("gone")):
        assert_503(make_client(api_key="a-stored-key").get("/api/v1/intents"))


class _DatabaseDownMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("could not connect to server: Connection refused")


def test_a_lost_connection_in_middleware_is_503(db, settings):
    middleware = [*settings.MIDDLEWARE, f"{__name__}._DatabaseDownMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert_503(Client(raise_request_exception=False).get("/api/v1/intents"))


def test_other_crashes_outside_drf_stay_500(db, settings):
    class Boom(_DatabaseDownMiddleware):
        def __call__(self, request):
            raise RuntimeError("a bug")

    globals()["_Boom"] = Boom
    try:
        with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}._Boom"]):
            response = Client(raise_request_exception=False).get("/api/v1/intents")
    finally:
        del globals()["_Boom"]
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
