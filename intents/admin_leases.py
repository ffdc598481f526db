"""Admin pages for leases (03), cost records (09), retry policies, failures and fallback
hand-offs (10). Records are append-only here; the one write, releasing a lease, goes
through the lease service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.utils import timezone

from openintent_project.admin_utils import ReadOnlyAdminMixin, pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from .models import CostRecord, FailureRecord, FallbackHandoff, Lease, RetryPolicy
from .services import leases as lease_services


class LeaseStatusFilter(admin.SimpleListFilter):
    """Status is computed (03): active / expired / released by time, not a stored column."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("released", "Released")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(released_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(released_at__isnull=True, expires_at__lte=now)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scope", "agent_id", "intent", "lease_status", "acquired_at", "expires_at", "released_at", "release_reason"]
    list_filter = [LeaseStatusFilter, "acquired_at"]
    search_fields = ["id", "scope", "agent_id", "intent__id", "intent__title"]
    list_select_related = ["intent"]
    fields = ["id", "intent", "agent_id", "scope", "lease_status", "acquired_at", "expires_at", "released_at",
              "release_reason", "expiry_announced_at"]
    readonly_fields = fields
    actions = ["release_leases"]

    @admin.display(description="Status")
    def lease_status(self, obj):
        return obj.status

    def has_change_permission(self, request, obj=None):
        # The release action needs "change" on the list; a lease itself is never edited
        # (its detail page is view-only), so nothing is saved around the service.
        return obj is None and request.user.has_perm("intents.change_lease")

    @admin.action(description="Release selected leases", permissions=["change"])
    def release_leases(self, request, queryset):
        principal = principal_for_user(request.user)
        released = 0
        for lease in queryset:
            try:
                released += lease_services.lease_force_release(principal=principal, lease_id=lease.pk, reason="operator")
            except ProtocolError as error:
                self.message_user(request, f"{lease}: {error.detail}", level=messages.ERROR)
        self.message_user(request, f"Released {released} lease(s).")


@admin.register(CostRecord)
class CostRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["recorded_at", "intent", "agent_id", "cost_type", "amount", "unit", "provider"]
    list_filter = ["cost_type", "unit", "provider", "recorded_at"]
    search_fields = ["intent__id", "intent__title", "agent_id", "provider"]
    list_select_related = ["intent"]
    fields = ["id", "intent", "agent_id", "cost_type", "amount", "unit", "provider", "metadata_json", "recorded_at"]
    readonly_fields = fields
    date_hierarchy = "recorded_at"

    @admin.display(description="Metadata")
    def metadata_json(self, obj):
        return pretty_json(obj.metadata)

    def changelist_view(self, request, extra_context=None):
        """Totals of the filtered records, per unit (amounts in different units do not add)."""
        response = super().changelist_view(request, extra_context=extra_context)
        try:
            queryset = response.context_data["cl"].queryset
        except (AttributeError, KeyError):
            return response
        totals = queryset.order_by().values("unit").annotate(total=Sum("amount"), records=Count("id")).order_by("unit")
        if totals:
            summary = "; ".join(f"{row['total']:g} {row['unit']} ({row['records']} records)" for row in totals)
            self.message_user(request, f"Totals of the listed costs: {summary}", level=messages.INFO)
        return response


@admin.register(RetryPolicy)
class RetryPolicyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["intent", "strategy", "max_retries", "base_delay_ms", "max_delay_ms", "fallback_agent_id",
                    "failure_threshold", "updated_at"]
    list_filter = ["strategy"]
    search_fields = ["intent__id", "intent__title", "fallback_agent_id"]
    list_select_related = ["intent"]
    fields = ["id", "intent", "strategy", "max_retries", "base_delay_ms", "max_delay_ms", "jitter",
              "fallback_agent_id", "failure_threshold", "created_at", "updated_at"]
    readonly_fields = fields


@admin.register(FailureRecord)
class FailureRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "intent", "agent_id", "error_code", "attempt_number", "error_message"]
    list_filter = ["error_code", "occurred_at"]
    search_fields = ["intent__id", "intent__title", "agent_id", "error_code", "error_type", "error_message"]
    list_select_related = ["intent"]
    fields = ["id", "intent", "agent_id", "error_type", "error_code", "error_message", "attempt_number",
              "retry_scheduled_at", "resolved_at", "metadata_json", "occurred_at"]
    readonly_fields = fields
    date_hierarchy = "occurred_at"

    @admin.display(description="Metadata")
    def metadata_json(self, obj):
        return pretty_json(obj.metadata)


@admin.register(FallbackHandoff)
class FallbackHandoffAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "intent", "failing_agent_id", "fallback_agent_id", "status", "failure_count", "leases_released"]
    list_filter = ["status"]
    search_fields = ["intent__id", "failing_agent_id", "fallback_agent_id"]
    list_select_related = ["intent"]
    fields = ["id", "intent", "failing_agent_id", "fallback_agent_id", "status", "failure_count",
              "leases_released", "detail", "created_at"]
    readonly_fields = fields
