"""Every route the server has, read from Django's URL resolver and the Channels stream routes,
with path parameters filled in. No hand-maintained list: a route merged tomorrow is walked
tomorrow. A pattern this module cannot turn into a URL that resolves back to the same view
is reported, so the harness is fixed rather than the route silently skipped."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

# Routes that need no API key (README §1–2): discovery, the OpenAPI document and its pages,
# the inbound trigger webhooks (they authenticate by signature, 17 §3) and the Django admin
# (session login, checked separately).
PUBLIC_NAMES = {"discovery", "discovery-compat", "server-config", "openapi-schema", "swagger-ui", "redoc"}
PUBLIC_PREFIXES = ("/.well-known/", "/webhooks/", "/admin/", "/static/", "/media/")

SAFE_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Route:
    url: str
    template: str  # the path with {name} placeholders, for messages
    methods: list[str]
    name: str | None
    params: dict[str, str] = field(default_factory=dict)
    stream: bool = False  # a Channels (ASGI) route: only reachable over real HTTP

    @property
    def public(self) -> bool:
        return self.name in PUBLIC_NAMES or self.url.startswith(PUBLIC_PREFIXES)

    @property
    def screen(self) -> bool:
        """A page for humans outside the API (review screens): session login, not API keys."""
        return not self.public and not self.stream and not self.url.startswith("/api/")

    @property
    def login_page(self) -> bool:
        return "login" in (self.name or "") or "/login" in self.url

    @property
    def intent_scoped(self) -> bool:
        """``/api/v1/intents/{id}/…``: the routes the ACL (11 §2) applies to."""
        parts = self.template.strip("/").split("/")
        return len(parts) >= 4 and parts[:3] == ["api", "v1", "intents"] and parts[3].startswith("{")

    def label(self, method: str) -> str:
        return f"{method.upper()} {self.template}"


def _find_group_end(regex: str, start: int) -> int:
    depth = 0
    index = start
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced group in {regex!r}")


LITERAL_ALTERNATIVES = re.compile(r"[\w.-]+(\|[\w.-]+)*")


def fill(regex: str, value_for) -> list[tuple[str, str, dict[str, str]]]:
    """Turn a URL regex into [(url, template, params)], each named group replaced by a value.
    A group that is a choice of literal words (``(?P<kind>intents|portfolios|agents)``) is
    expanded into one route per word, with the word in the template."""
    results: list[tuple[list, list, dict]] = [([], [], {})]
    index = 0

    def extend(url_part: str, template_part: str) -> None:
        for url, template, _ in results:
            url.append(url_part)
            template.append(template_part)

    while index < len(regex):
        if regex.startswith("(?P<", index):
            close = regex.index(">", index)
            name = regex[index + 4:close]
            end = _find_group_end(regex, index)
            inner = regex[close + 1:end]
            if LITERAL_ALTERNATIVES.fullmatch(inner) and "|" in inner:
                expanded = []
                for word in inner.split("|"):
                    for url, template, params in results:
                        expanded.append((url + [word], template + [word], {**params, name: word}))
                results = expanded
            else:
                value = value_for(name)
                for url, template, params in results:
                    url.append(value)
                    template.append("{" + name + "}")
                    params[name] = value
            index = end + 1
            continue
        char = regex[index]
        if char == "\\" and index + 1 < len(regex):
            if regex[index + 1] in "AZ":
                index += 2
                continue
            extend(regex[index + 1], regex[index + 1])
            index += 2
            continue
        if char in "^$":
            index += 1
            continue
        if char == "?":  # an optional trailing character ("/?"): leave it out
            for url, template, _ in results:
                if url:
                    url.pop()
                    template.pop()
            index += 1
            continue
        extend(char, char)
        index += 1
    return [("/" + "".join(url), "/" + "".join(template), params) for url, template, params in results]


def default_value(name: str) -> str:
    if name == "path":
        return "fuzz/hook"
    if "agent" in name and not name.endswith("pk"):
        return "agent-scan"
    return str(uuid.uuid4())


def view_methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route
        return sorted(method for method in actions if method in SAFE_METHODS)
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        names = getattr(view_class, "http_method_names", SAFE_METHODS)
        found = sorted(m for m in SAFE_METHODS if m in names and hasattr(view_class, m))
        return found or ["get"]
    return ["get"]


def _walk(patterns, prefix: str):
    for entry in patterns:
        regex = entry.pattern.regex.pattern
        if regex.startswith("^"):
            regex = regex[1:]
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + regex)
        elif isinstance(entry, URLPattern):
            yield prefix + regex, entry


def django_routes(value_for=default_value) -> tuple[list[Route], list[str]]:
    """Every Django URL pattern as a Route, and the patterns that could not be filled."""
    from django.urls import Resolver404, resolve

    routes, problems = [], []
    for regex, pattern in _walk(get_resolver().url_patterns, ""):
        if regex.startswith("admin/"):  # session login, not API keys: checked on its own
            continue
        if "(?P<format>" in regex:  # DRF's format-suffix duplicates of the same views
            continue
        if regex in ("api/", "api/.*") or regex.startswith("api/") and pattern.callback.__name__ == "not_found":
            continue  # the catch-all JSON 404 for unknown API paths
        try:
            filled = fill(regex, value_for)
        except ValueError as error:
            problems.append(f"{regex}: {error}")
            continue
        for url, template, params in filled:
            try:
                match = resolve(url)
            except Resolver404:
                problems.append(f"{regex}: {url} does not resolve")
                continue
            if match.func is not pattern.callback:
                problems.append(f"{regex}: {url} resolves to {match.func!r}, not {pattern.callback!r}")
                continue
            routes.append(Route(url, template, view_methods(pattern.callback), pattern.name, params))
    return routes, problems


def stream_routes(value_for=default_value) -> list[Route]:
    """The Channels HTTP routes (SSE streams) served beside Django by the ASGI app."""
    from openintent_project.routing import http_stream_routes

    routes = []
    for regex, pattern in _walk(http_stream_routes, ""):
        for url, template, params in fill(regex, value_for):
            routes.append(Route(url, template, ["get"], getattr(pattern, "name", None), params, stream=True))
    return routes


# --- valid request bodies from the OpenAPI document --------------------------------------------
# An access check runs after input validation (README check order: 401, 400, 404, 403), so a
# scan that proves a 403 must send a body that passes validation: one is built from each
# operation's documented request schema (required fields, enum values, formats).

def _shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template.rstrip("/"))


def openapi_operations(document: dict) -> dict[tuple[str, str], dict]:
    return {
        (_shape(path), method): operation
        for path, methods in document.get("paths", {}).items()
        for method, operation in methods.items()
        if isinstance(operation, dict)
    }


def _resolve(document: dict, schema: dict) -> dict:
    while isinstance(schema, dict) and "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema or {}


def example_value(document: dict, schema: dict, depth: int = 0):
    import datetime as dt

    schema = _resolve(document, schema)
    for key in ("allOf", "oneOf", "anyOf"):
        if schema.get(key):
            return example_value(document, schema[key][0], depth + 1)
    if "enum" in schema and schema["enum"]:
        return next((value for value in schema["enum"] if value not in (None, "")), schema["enum"][0])
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    fmt = schema.get("format")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        required = schema.get("required", [])
        return {name: example_value(document, sub, depth + 1)
                for name, sub in schema.get("properties", {}).items() if name in required}
    if kind == "array":
        return [example_value(document, schema.get("items", {}), depth + 1)] if schema.get("minItems") else []
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return True
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return (dt.datetime.utcnow() + dt.timedelta(hours=1)).isoformat()
    if fmt in ("uri", "url"):
        return "https://example.invalid/hook"
    if fmt == "binary":
        return b"scan"
    return "scan"


def example_request(document: dict, route: Route, method: str) -> tuple[str, object]:
    """(format, body) for ``method route``: "json" or "multipart" and a body that satisfies
    the documented request schema; (None, None) when the operation documents no body."""
    operation = openapi_operations(document).get((_shape(route.template), method))
    content = ((operation or {}).get("requestBody") or {}).get("content") or {}
    if "application/json" in content:
        return "json", example_value(document, content["application/json"].get("schema", {}))
    if "multipart/form-data" in content:
        from django.core.files.uploadedfile import SimpleUploadedFile

        schema = _resolve(document, content["multipart/form-data"].get("schema", {}))
        body = {}
        for name, sub in schema.get("properties", {}).items():
            sub = _resolve(document, sub)
            if name not in schema.get("required", []) and sub.get("format") != "binary":
                continue
            if sub.get("format") == "binary":
                body[name] = SimpleUploadedFile("scan.txt", b"scan", content_type="text/plain")
            else:
                body[name] = example_value(document, sub)
        return "multipart", body
    return ("json", {}) if method in ("post", "put", "patch") else (None, None)


def websocket_routes(value_for=default_value) -> list[Route]:
    """The Channels WebSocket routes."""
    from openintent_project.routing import websocket_routes as patterns

    routes = []
    for regex, pattern in _walk(patterns, ""):
        for url, template, params in fill(regex, value_for):
            routes.append(Route(url, template, ["get"], getattr(pattern, "name", None), params, stream=True))
    return routes


def websocket_handshake(base_url: str, path: str, headers: dict[str, str], timeout: float = 10) -> tuple[int, int | None]:
    """Open a WebSocket with a raw handshake. Returns (HTTP status, close opcode/code or None):
    a refused handshake is (403, None); an accepted one that the server closes at once is
    (101, <close code>); an accepted, open one is (101, None)."""
    import base64
    import os
    import socket
    import struct
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            if not chunk:
                break
            response += chunk
        status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
        if status != 101:
            return status, None
        rest = response.split(b"\r\n\r\n", 1)[1]
        try:
            while len(rest) < 2:
                chunk = sock.recv(4096)
                if not chunk:
                    return 101, 1006  # dropped without a close frame
                rest += chunk
        except socket.timeout:
            return 101, None
        opcode = rest[0] & 0x0F
        if opcode != 0x8:
            return 101, None
        while len(rest) < 4:
            rest += sock.recv(4096)
        return 101, struct.unpack("!H", rest[2:4])[0]
    finally:
        sock.close()
