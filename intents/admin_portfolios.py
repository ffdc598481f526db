"""Admin for portfolios (RFC-0007): aggregate progress, memberships inline. Every change
goes through the portfolio services (status policy, shared constraints, stream frames)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q

from openintent_project.admin_utils import pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from .models import IntentStatus, Portfolio, PortfolioMembership, PortfolioStatus
from .selectors_portfolios import portfolio_aggregates
from .services import portfolios as service


class MembershipInline(admin.TabularInline):
    model = PortfolioMembership
    fields = ["intent", "intent_status", "role", "priority", "added_at"]
    readonly_fields = ["intent_status", "added_at"]
    raw_id_fields = ["intent"]
    extra = 0

    @admin.display(description="Intent status")
    def intent_status(self, obj):
        return obj.intent.status if obj.intent_id else "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("intent")


class PortfolioForm(forms.ModelForm):
    governance_policy = forms.JSONField(required=False, initial=dict)
    metadata = forms.JSONField(required=False, initial=dict)

    class Meta:
        model = Portfolio
        fields = ["name", "description", "created_by", "governance_policy", "metadata", "status"]


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    form = PortfolioForm
    list_display = ["name", "status", "created_by", "progress", "created_at", "updated_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "name", "created_by", "description"]
    inlines = [MembershipInline]
    actions = ["mark_active", "mark_completed", "mark_abandoned"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "description", "created_by", "governance_policy", "metadata"]
        return ["id", "name", "description", "created_by", "status", "aggregate", "governance_policy_json",
                "metadata_json", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Only the status is edited after creation, through portfolio_set_status.
        return ["id", "name", "description", "created_by", "aggregate", "governance_policy_json",
                "metadata_json", "created_at", "updated_at"]

    def get_queryset(self, request):
        # Progress on the list page in the same query (no N+1).
        return super().get_queryset(request).annotate(
            member_total=Count("memberships"),
            member_completed=Count("memberships", filter=Q(memberships__intent__status=IntentStatus.COMPLETED)),
        )

    @admin.display(description="Progress")
    def progress(self, obj):
        total = obj.member_total
        percentage = int(obj.member_completed / total * 100) if total else 0
        return f"{obj.member_completed}/{total} completed ({percentage}%)"

    @admin.display(description="Aggregate status")
    def aggregate(self, obj):
        return pretty_json(portfolio_aggregates([obj.pk])[obj.pk])

    @admin.display(description="Governance policy")
    def governance_policy_json(self, obj):
        return pretty_json(obj.governance_policy)

    @admin.display(description="Metadata")
    def metadata_json(self, obj):
        return pretty_json(obj.metadata)

    def has_delete_permission(self, request, obj=None):
        return False  # the protocol has no portfolio deletion; abandon instead

    def save_model(self, request, obj, form, change):
        principal = principal_for_user(request.user)
        data = form.cleaned_data
        try:
            if not change:
                created = service.portfolio_create(
                    principal=principal, name=data["name"], description=data.get("description") or "",
                    created_by=data.get("created_by") or principal.id,
                    governance_policy=data.get("governance_policy") or {}, metadata=data.get("metadata") or {},
                )
                obj.pk = created.pk
                obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_state")})
                obj._state.adding = False
            elif "status" in form.changed_data:
                service.portfolio_set_status(principal=principal, portfolio_id=obj.pk, status=data["status"])
        except ProtocolError as error:
            self.message_user(request, f"{obj}: {error.detail}", level=messages.ERROR)

    def save_formset(self, request, form, formset, change):
        """Membership rows are added, updated and removed by the services, never saved raw."""
        principal = principal_for_user(request.user)
        portfolio_id = form.instance.pk
        # What the admin's change message reads (normally filled by formset.save()).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not hasattr(row, "cleaned_data") or not row.cleaned_data:
                continue
            member = row.instance
            old_intent = row.initial.get("intent")
            try:
                if formset.can_delete and formset._should_delete_form(row):
                    if member.pk:
                        service.portfolio_remove_intent(principal=principal, portfolio_id=portfolio_id, intent_id=old_intent)
                        formset.deleted_objects.append(member)
                    continue
                if not row.has_changed():
                    continue
                intent = row.cleaned_data["intent"]
                if member.pk and old_intent and str(old_intent) != str(intent.pk):
                    service.portfolio_remove_intent(principal=principal, portfolio_id=portfolio_id, intent_id=old_intent)
                saved = service.portfolio_add_intent(
                    principal=principal, portfolio_id=portfolio_id, intent_id=intent.pk,
                    role=row.cleaned_data["role"], priority=row.cleaned_data["priority"],
                )
                if member.pk and saved.pk == member.pk:
                    formset.changed_objects.append((saved, row.changed_data))
                else:
                    formset.new_objects.append(saved)
            except ProtocolError as error:
                self.message_user(request, f"{row.instance}: {error.detail}", level=messages.ERROR)

    def _set_status(self, request, queryset, status: str) -> None:
        principal = principal_for_user(request.user)
        changed = 0
        for portfolio in queryset:
            try:
                service.portfolio_set_status(principal=principal, portfolio_id=portfolio.pk, status=status)
                changed += 1
            except ProtocolError as error:
                detail = error.detail.get("message") if isinstance(error.detail, dict) else error.detail
                self.message_user(request, f"{portfolio}: {detail}", level=messages.ERROR)
        if changed:
            self.message_user(request, f"{changed} portfolio(s) now {status}.")

    @admin.action(description="Mark selected portfolios active")
    def mark_active(self, request, queryset):
        self._set_status(request, queryset, PortfolioStatus.ACTIVE)

    @admin.action(description="Mark selected portfolios completed")
    def mark_completed(self, request, queryset):
        self._set_status(request, queryset, PortfolioStatus.COMPLETED)

    @admin.action(description="Abandon selected portfolios")
    def mark_abandoned(self, request, queryset):
        self._set_status(request, queryset, PortfolioStatus.ABANDONED)
