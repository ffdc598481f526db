from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "openintent_project.api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


from drf_spectacular.utils import OpenApiParameter, OpenApiResponse  # noqa: E402
from rest_framework import serializers  # noqa: E402

from openintent_project.api.serializers import ProtocolSerializer  # noqa: E402


class ErrorSerializer(ProtocolSerializer):
    """Every error body has a top-level ``detail`` (README §4): a string, an object
    (governance, 422) or a list of pydantic-style items (400)."""

    detail = serializers.JSONField()
    message = serializers.CharField(required=False)


class MessageSerializer(ProtocolSerializer):
    """``{"message": …}``: the body of REF's acknowledgement answers (release, remove…)."""

    message = serializers.CharField()


# A bare JSON array of objects, for list routes whose items are documented in prose.
ARRAY_OF_OBJECTS = {"type": "array", "items": {"type": "object", "additionalProperties": True}}


def errors(*codes: int) -> dict:
    """Error responses for ``extend_schema(responses=...)``; 401 is added everywhere."""
    described = {
        400: "Invalid input",
        401: "Invalid or missing API key",
        403: "Forbidden by governance or access control",
        404: "Not found",
        409: "Conflict",
        413: "Request body too large",
        422: "Semantic rejection",
        428: "If-Match required",
        429: "Rate limited",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=described.get(code, "Error")) for code in (401, *codes)}


IF_MATCH = OpenApiParameter(
    "If-Match", str, OpenApiParameter.HEADER, required=True,
    description="The intent version the change is based on (e.g. 3, \"3\" or W/\"3\").",
)
