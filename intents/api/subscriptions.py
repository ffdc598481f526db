"""RFC-0006 webhook subscription routes (06 §2)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from openintent_project.api.fields import StrictCharField, StringListField
from openintent_project.api.schema import errors
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.timestamps import format_timestamp
from openintent_project.api.viewsets import ProtocolViewSet

from ..services import subscriptions as services


class SubscriptionCreateInputSerializer(ProtocolSerializer):
    intent_id = StrictCharField(required=False, allow_null=True, allow_blank=True)
    portfolio_id = StrictCharField(required=False, allow_null=True, allow_blank=True)
    subscriber_id = StrictCharField(required=False, allow_null=True, allow_blank=True)
    event_types = StringListField(required=False, allow_null=True)
    webhook_url = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=2000)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default_timezone=None)


class SubscriptionListQuerySerializer(ProtocolSerializer):
    intent_id = serializers.CharField(required=False)
    portfolio_id = serializers.CharField(required=False)


class SubscriptionSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField(allow_null=True)
    portfolio_id = serializers.UUIDField(allow_null=True)
    subscriber_id = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    webhook_url = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()
    expires_at = serializers.CharField(allow_null=True)
    created_at = serializers.CharField()
    expiresAt = serializers.CharField(allow_null=True)
    createdAt = serializers.CharField()


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    secret = serializers.CharField(help_text="Standard Webhooks signing secret; shown only here.")


def subscription_dict(subscription, *, with_secret: bool = False) -> dict:
    expires = format_timestamp(subscription.expires_at) if subscription.expires_at else None
    created = format_timestamp(subscription.created_at)
    data = {
        "id": str(subscription.id),
        "intent_id": str(subscription.intent_id) if subscription.intent_id else None,
        "portfolio_id": str(subscription.portfolio_id) if subscription.portfolio_id else None,
        "subscriber_id": subscription.subscriber_id,
        "event_types": list(subscription.event_types),
        "webhook_url": subscription.webhook_url,
        "active": subscription.active,
        "expires_at": expires,
        "created_at": created,
        # The SDK's IntentSubscription.from_dict reads only the camelCase keys (06, MAY).
        "expiresAt": expires,
        "createdAt": created,
    }
    if with_secret:
        data["secret"] = subscription.secret
    return data


class SubscriptionViewSet(ProtocolViewSet):
    @extend_schema(operation_id="subscriptions_create", request=SubscriptionCreateInputSerializer, responses={200: SubscriptionCreatedSerializer, **errors(400, 403, 404)})
    def create(self, request):
        data = self.body(SubscriptionCreateInputSerializer)
        subscription = services.subscription_create(
            principal=self.principal,
            intent_id=data.get("intent_id"),
            portfolio_id=data.get("portfolio_id"),
            subscriber_id=data.get("subscriber_id"),
            event_types=data.get("event_types") or [],
            webhook_url=data.get("webhook_url"),
            expires_at=data.get("expires_at"),
        )
        return Response(subscription_dict(subscription, with_secret=True))

    @extend_schema(operation_id="subscriptions_list", parameters=[SubscriptionListQuerySerializer], responses={200: SubscriptionSerializer(many=True), **errors(400)})
    def list(self, request):
        query = self.query(SubscriptionListQuerySerializer)
        items = services.subscription_list(
            principal=self.principal, intent_id=query.get("intent_id"), portfolio_id=query.get("portfolio_id")
        )
        return Response([subscription_dict(s) for s in items])

    @extend_schema(operation_id="subscriptions_delete", responses={204: OpenApiResponse(description="Removed"), **errors(403, 404)})
    def destroy(self, request, pk=None):
        services.subscription_delete(principal=self.principal, subscription_id=pk)
        return Response(status=204)
