import json as jsonlib

import pytest
from django.test import Client


class ReferenceClient:
    """The reference tests' client interface (``.get/.post/.put/.delete(path, json=,
    headers=)`` answering ``.status_code``/``.json()``) over Django's test client."""

    def __init__(self):
        self._client = Client()

    def request(self, method: str, path: str, *, json=None, headers=None, params=None):
        kwargs = {"headers": headers or {}}
        if json is not None:
            kwargs.update(data=jsonlib.dumps(json), content_type="application/json")
        if params:
            kwargs["QUERY_STRING"] = "&".join(f"{k}={v}" for k, v in params.items())
        return getattr(self._client, method)(path, **kwargs)

    def get(self, path, **kw):
        return self.request("get", path, **kw)

    def post(self, path, **kw):
        return self.request("post", path, **kw)

    def put(self, path, **kw):
        return self.request("put", path, **kw)

    def delete(self, path, **kw):
        return self.request("delete", path, **kw)

    def patch(self, path, **kw):
        return self.request("patch", path, **kw)


@pytest.fixture
def reference_client():
    return ReferenceClient()
