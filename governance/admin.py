"""Operator pages for governance rows. Every change goes through the services (as the
signed-in operator's principal); rows are otherwise read-only."""

from __future__ import annotations

from django.contrib import admin, messages

from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from . import services
from .models import (
    AccessControl,
    AccessRequest,
    AclEntry,
    Approval,
    Arbitration,
    CoordinatorLease,
    Decision,
    DecisionRecord,
    Escalation,
    GovernedIntent,
)


def _operator(request):
    principal = principal_for_user(request.user)
    # Admin users act as operators (README §2): the ACL bypass is audited on the intent.
    return type(principal)(id=principal.id, api_key="", is_operator=True)


def _run(modeladmin, request, queryset, func, done: str):
    ok = 0
    for obj in queryset:
        try:
            func(obj)
            ok += 1
        except ProtocolError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
    if ok:
        modeladmin.message_user(request, f"{ok} {done}.", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessControl)
class AccessControlAdmin(ReadOnlyAdmin):
    list_display = ["intent", "default_policy", "updated_at"]
    list_filter = ["default_policy"]
    search_fields = ["intent__id", "intent__title"]


@admin.register(AclEntry)
class AclEntryAdmin(ReadOnlyAdmin):
    list_display = ["principal_id", "permission", "intent", "granted_by", "granted_at", "expires_at"]
    list_filter = ["permission", "principal_type"]
    search_fields = ["principal_id", "intent__id"]
    list_select_related = ["intent"]
    actions = ["revoke", "expire_due_now"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected entries (cascades to leases)")
    def revoke(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda e: services.acl_entry_revoke(principal=op, intent_id=str(e.intent_id), entry_id=str(e.pk)), "entries revoked")

    @admin.action(description="Run the expiry sweep now")
    def expire_due_now(self, request, queryset):
        self.message_user(request, f"{services.acl_expire_due()} expired entries removed.")


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["principal_id", "requested_permission", "intent", "status", "created_at", "decided_by"]
    list_filter = ["status", "requested_permission"]
    search_fields = ["principal_id", "intent__id"]
    list_select_related = ["intent"]
    actions = ["approve", "deny"]

    @admin.action(description="Approve selected requests")
    def approve(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda r: services.access_request_approve(principal=op, intent_id=str(r.intent_id), request_id=str(r.pk), decided_by=op.id), "requests approved")

    @admin.action(description="Deny selected requests")
    def deny(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda r: services.access_request_deny(principal=op, intent_id=str(r.intent_id), request_id=str(r.pk), decided_by=op.id), "requests denied")


@admin.register(Arbitration)
class ArbitrationAdmin(ReadOnlyAdmin):
    list_display = ["reason", "intent", "requested_by", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["reason", "intent__id"]
    list_select_related = ["intent"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["decision_type", "intent", "decided_by", "created_at"]
    list_filter = ["decision_type"]
    search_fields = ["intent__id", "decided_by"]
    list_select_related = ["intent"]


@admin.register(CoordinatorLease)
class CoordinatorLeaseAdmin(ReadOnlyAdmin):
    list_display = ["agent_id", "intent", "portfolio_id", "status", "last_heartbeat", "granted_at", "version"]
    list_filter = ["status", "coordinator_type", "scope"]
    search_fields = ["agent_id", "intent__id"]
    list_select_related = ["intent"]
    actions = ["fail_over", "sweep_now"]

    @admin.action(description="Fail over the selected leases' agents now")
    def fail_over(self, request, queryset):
        total = sum(services.coordinator_failover_for_agent(agent_id=a) for a in set(queryset.values_list("agent_id", flat=True)))
        self.message_user(request, f"{total} leases failed over.")

    @admin.action(description="Run the liveness sweep now")
    def sweep_now(self, request, queryset):
        self.message_user(request, f"{services.coordinator_sweep()} leases changed.")


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdmin):
    list_display = ["decision_type", "coordinator_id", "intent", "timestamp"]
    list_filter = ["decision_type"]
    search_fields = ["coordinator_id", "intent__id", "summary"]
    list_select_related = ["intent"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["reason", "intent", "priority", "status", "escalated_by", "created_at", "resolved_by"]
    list_filter = ["status", "priority"]
    search_fields = ["reason", "intent__id"]
    list_select_related = ["intent"]
    actions = ["resolve"]

    @admin.action(description="Resolve selected escalations (resolution: resolved by operator)")
    def resolve(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda e: services.escalation_resolve(principal=op, escalation_id=str(e.pk), resolution="resolved by operator", resolved_by=op.id), "escalations resolved")


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["action", "intent", "requested_by", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["action", "intent__id"]
    list_select_related = ["intent"]
    actions = ["approve", "deny"]

    @admin.action(description="Approve selected")
    def approve(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda a: services.approval_decide(principal=op, intent_id=str(a.intent_id), approval_id=str(a.pk), approve=True), "approved")

    @admin.action(description="Deny selected")
    def deny(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda a: services.approval_decide(principal=op, intent_id=str(a.intent_id), approval_id=str(a.pk), approve=False), "denied")


@admin.register(GovernedIntent)
class GovernedIntentAdmin(admin.ModelAdmin):
    """Governance policy per intent (13 §5): edits go through ``policy_set``/``policy_remove``
    (validation, version bump, ``governance.policy_set`` event)."""

    list_display = ["title", "status", "version", "governance_policy"]
    search_fields = ["id", "title"]
    fields = ["title", "status", "version", "governance_policy"]
    readonly_fields = ["title", "status", "version"]
    actions = ["remove_policy"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(governance_policy__isnull=False)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        op = _operator(request)
        policy = form.cleaned_data.get("governance_policy")
        try:
            if policy is None:
                services.policy_remove(principal=op, intent_id=str(obj.pk), expected_version=obj.version)
            else:
                services.policy_set(principal=op, intent_id=str(obj.pk), expected_version=obj.version, policy=policy)
        except ProtocolError as exc:
            self.message_user(request, f"Not saved: {exc.detail}", messages.ERROR)

    @admin.action(description="Remove the governance policy")
    def remove_policy(self, request, queryset):
        op = _operator(request)
        _run(self, request, queryset, lambda i: services.policy_remove(principal=op, intent_id=str(i.pk), expected_version=i.version), "policies removed")
