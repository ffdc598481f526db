from django.contrib import admin, messages

from openintent_project.admin_utils import ReadOnlyAdminMixin, pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from . import services
from .models import Assignment, Event, Intent, IntentStatus


class AssignmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Assignment
    fields = ["agent_id", "role", "assigned_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "created_by", "version", "created_at", "updated_at"]
    list_filter = ["status", "created_by", "created_at"]
    search_fields = ["id", "title", "created_by", "description"]
    date_hierarchy = "created_at"
    list_select_related = ["parent"]
    readonly_fields = [
        "id", "title", "description", "created_by", "parent", "status", "version",
        "depends_on_list", "state_json", "constraints_json", "governance_policy_json",
        "created_at", "updated_at",
    ]
    fields = readonly_fields
    inlines = [AssignmentInline]
    actions = ["mark_active", "mark_completed", "mark_abandoned"]

    def get_fields(self, request, obj=None):
        return ["title", "description"] if obj is None else self.fields

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Intents carry an append-only log; abandon them instead.
        return False

    def save_model(self, request, obj, form, change):
        # Creation goes through the same service as POST /api/v1/intents; edits are actions.
        created = services.intent_create(
            principal=principal_for_user(request.user),
            title=form.cleaned_data["title"],
            description=form.cleaned_data.get("description") or "",
        )
        obj.pk = created.pk
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if not k.startswith("_state")})

    @admin.display(description="Depends on")
    def depends_on_list(self, obj):
        return ", ".join(obj.depends_on) or "—"

    @admin.display(description="State")
    def state_json(self, obj):
        return pretty_json(obj.state)

    @admin.display(description="Constraints")
    def constraints_json(self, obj):
        return pretty_json(obj.constraints)

    @admin.display(description="Governance policy")
    def governance_policy_json(self, obj):
        return pretty_json(obj.governance_policy)

    def _set_status(self, request, queryset, status: str) -> None:
        principal = principal_for_user(request.user)
        changed = 0
        for intent in queryset:
            try:
                services.intent_set_status(
                    principal=principal, intent_id=intent.pk, expected_version=intent.version,
                    status=status, reason=f"set in the admin by {request.user.get_username()}",
                )
                changed += 1
            except ProtocolError as error:
                self.message_user(request, f"{intent}: {error.detail}", level=messages.ERROR)
        if changed:
            self.message_user(request, f"{changed} intent(s) now {status}.")

    @admin.action(description="Mark selected intents active")
    def mark_active(self, request, queryset):
        self._set_status(request, queryset, IntentStatus.ACTIVE)

    @admin.action(description="Mark selected intents completed")
    def mark_completed(self, request, queryset):
        self._set_status(request, queryset, IntentStatus.COMPLETED)

    @admin.action(description="Abandon selected intents")
    def mark_abandoned(self, request, queryset):
        self._set_status(request, queryset, IntentStatus.ABANDONED)


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The event log is append-only: nobody adds, changes or deletes here."""

    list_display = ["created_at", "event_type", "actor", "intent", "sequence"]
    list_filter = ["event_type"]
    search_fields = ["uuid", "intent__id", "actor", "event_type"]
    list_select_related = ["intent"]
    fields = ["uuid", "intent", "sequence", "event_type", "actor", "payload_json", "trace_id", "parent_event_id", "created_at"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Payload")
    def payload_json(self, obj):
        return pretty_json(obj.payload)
from . import admin_attachments, admin_portfolios  # noqa: E402,F401


from . import admin_leases  # noqa: E402,F401  (leases, costs, retry policies, failures)
from . import admin_tasks  # noqa: E402,F401  RFC-0012 tasks and plans
from . import admin_subscriptions  # noqa: E402,F401  RFC-0006
