from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from openintent_project.api import discovery

api_v1 = [
    path("server/config", discovery.ServerConfigView.as_view(), name="server-config"),
    # RFC-0001/0002 (+0025 respond): intents, events, assignments, graphs.
    path("", include("intents.api.urls")),
    # RFC-0003 leases, RFC-0009 costs, RFC-0010 retry policies and failures.
    path("", include("intents.api.urls_leases")),
    # RFC-0006: webhook subscriptions (the SSE and WebSocket streams are in routing.py).
    path("", include("intents.api.urls_subscriptions")),
    # RFC-0005: attachments, with stored content.
    path("", include("intents.api.urls_attachments")),
    # RFC-0004/0007: portfolios.
    path("", include("intents.api.urls_portfolios")),
    # RFC-0003 arbitration/decisions, RFC-0011 access control, RFC-0013 coordinator governance.
    path("", include("governance.api.urls")),
    # RFC-0012 tasks and plans.
    path("", include("intents.api.urls_tasks")),
    # RFC-0014: vaults, credentials, grants, invocations, tools/invoke.
    path("", include("vaults.api.urls")),
    # RFC-0015 memory, RFC-0016 agent lifecycle.
    path("", include("agents_registry.api.urls")),
    # RFC-0017 triggers.
    path("", include("triggers.api.urls")),
]

urlpatterns = [
    path(".well-known/openintent.json", discovery.DiscoveryView.as_view(), name="discovery"),
    path(".well-known/openintent-compat.json", discovery.CompatView.as_view(), name="discovery-compat"),
    path("api/v1/", include(api_v1)),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="redoc"),
    path("admin/", admin.site.urls),
    # RFC-0017 inbound webhook receiver (public, outside /api/v1).
    path("", include("triggers.webhook_urls")),
    # Arbitrators' review screens (RFC-0003/0011/0013/0025 decisions by humans).
    path("review/", include("governance.urls")),
    # Unknown API routes answer the protocol's JSON 404, never an HTML page.
    re_path(r"^api/", discovery.not_found),
]

handler404 = "openintent_project.api.discovery.not_found"
handler500 = "openintent_project.api.discovery.server_error"
