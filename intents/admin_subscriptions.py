"""Admin for webhook subscriptions and their deliveries (RFC-0006): every attempt is
visible; "redeliver" goes through the service."""

from django.contrib import admin, messages

from openintent_project.admin_utils import ReadOnlyAdminMixin, pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from .models import Delivery, DeliveryAttempt, Subscription
from .services import subscriptions as services


class DeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "status_code", "succeeded", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "subscriber_id", "intent_id", "portfolio_id", "webhook_url", "active", "expires_at", "created_at"]
    list_filter = ["active", "created_at"]
    search_fields = ["id", "subscriber_id", "webhook_url", "intent_id", "portfolio_id"]
    # The signing secret is never shown again after creation.
    fields = ["id", "subscriber_id", "intent_id", "portfolio_id", "event_types", "webhook_url", "active", "expires_at", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "subscription", "event_type", "status", "attempts", "next_attempt_at", "last_error", "created_at", "delivered_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "subscription__id", "subscription__webhook_url", "event__uuid"]
    list_select_related = ["subscription", "event"]
    raw_id_fields = ["subscription", "event"]
    fields = ["id", "subscription", "event", "payload_json", "status", "attempts", "next_attempt_at", "claimed_at", "last_error", "created_at", "delivered_at"]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description="event")
    def event_type(self, obj):
        return obj.event.event_type

    @admin.display(description="body")
    def payload_json(self, obj):
        import json

        return pretty_json(json.loads(services.delivery_body(obj)))

    @admin.action(description="Redeliver the selected deliveries now")
    def redeliver(self, request, queryset):
        principal = principal_for_user(request.user)
        done = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(principal=principal, delivery_id=delivery.pk)
                done += 1
            except ProtocolError as error:
                self.message_user(request, f"{delivery.pk}: {error.detail}", messages.ERROR)
        self.message_user(request, f"{done} deliveries queued again.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        # Needed for admin actions to be offered; the form itself stays read-only.
        return request.user.has_perm("intents.change_delivery") and obj is None
