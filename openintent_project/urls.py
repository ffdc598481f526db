from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerView

from openintent_project.api import discovery

api_v1 = [
    path("server/config", discovery.ServerConfigView.as_view(), name="server-config"),
    # RFC-0001/0002 (+0025 respond): intents, events, assignments, graphs.
    path("", include("intents.api.urls")),
    # RFC-0006: webhook subscriptions.
    path("", include("intents.api.urls_subscriptions")),
]

urlpatterns = [
    path(".well-known/openintent.json", discovery.DiscoveryView.as_view(), name="discovery"),
    path(".well-known/openintent-compat.json", discovery.CompatView.as_view(), name="discovery-compat"),
    path("api/v1/", include(api_v1)),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="openapi-schema"), name="redoc"),
    path("admin/", admin.site.urls),
    # Unknown API routes answer the protocol's JSON 404, never an HTML page.
    re_path(r"^api/", discovery.not_found),
]

handler404 = "openintent_project.api.discovery.not_found"
handler500 = "openintent_project.api.discovery.server_error"
