"""The keyless discovery documents (README §8)."""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .viewsets import JSONOnly

CAPABILITIES = [
    "intents", "events", "agents", "state-patches", "optimistic-concurrency", "portfolios",
    "attachments", "subscriptions", "cost-tracking", "retry-policies", "leasing", "governance",
    "governance-enforcement", "access-control", "tools", "federation",
]
RFC_URLS = [f"/rfc/{n:04d}" for n in (1, 2, 3, 4, 5, 6, 9, 10, 11, 22, 23)]


class PublicView(JSONOnly, APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class DiscoveryView(PublicView):
    @extend_schema(operation_id="discovery_openintent", auth=[], responses={200: inline_serializer("Discovery", {
        "protocol": serializers.CharField(), "version": serializers.CharField(),
        "rfcUrls": serializers.ListField(child=serializers.CharField()),
        "capabilities": serializers.ListField(child=serializers.CharField()),
        "openApiUrl": serializers.CharField(),
    })})
    def get(self, request):
        return Response({
            "protocol": "OpenIntent Coordination Protocol",
            "version": settings.OPENINTENT_PROTOCOL_VERSION,
            "rfcUrls": RFC_URLS,
            "capabilities": CAPABILITIES,
            "openApiUrl": "/openapi.json",
        })


class CompatView(PublicView):
    @extend_schema(operation_id="discovery_compat", auth=[], responses={200: inline_serializer("Compat", {
        "implementation": serializers.CharField(), "version": serializers.CharField(),
        "rfcCompliance": serializers.DictField(child=serializers.CharField()),
        "features": serializers.DictField(child=serializers.BooleanField()),
    })})
    def get(self, request):
        full = [f"RFC-{n:04d}" for n in (1, 2, 3, 4, 5, 6, 9, 10, 11)]
        features = [
            "intents", "events", "agents", "statePatches", "optimisticConcurrency", "leasing",
            "governance", "governanceEnforcement", "portfolios", "attachments", "subscriptions",
            "costTracking", "retryPolicies", "accessControl",
        ]
        return Response({
            "implementation": "OpenIntent Django Server",
            "version": "0.1.0",
            "rfcCompliance": {rfc: "full" for rfc in full},
            "features": {name: True for name in features},
        })


class ServerConfigView(PublicView):
    @extend_schema(operation_id="server_config", auth=[], responses={200: inline_serializer("ServerConfig", {
        "protocol_version": serializers.CharField(),
        "suspension": serializers.DictField(),
    })})
    def get(self, request):
        return Response({
            "protocol_version": settings.OPENINTENT_PROTOCOL_VERSION,
            "suspension": {"default_retry_policy": settings.OPENINTENT_SUSPENSION_DEFAULT_RETRY_POLICY},
        })


@csrf_exempt
def not_found(request, exception=None):
    from django.http import JsonResponse

    return JsonResponse({"detail": "Not Found"}, status=404)


def server_error(request):
    """Django's last resort for an exception outside DRF's handler (middleware, the admin,
    anything before the view). Django calls it inside its ``except`` block, so the exception
    is still current: a database outage there is the same clean 503 the API answers."""
    import sys

    from django.http import JsonResponse

    from .exceptions import DATABASE_UNAVAILABLE, UNAVAILABLE_BODY

    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        response = JsonResponse(UNAVAILABLE_BODY, status=503)
        response["Retry-After"] = "1"
        return response
    return JsonResponse({"detail": "Internal Server Error"}, status=500)
