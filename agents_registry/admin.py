from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from openintent_project.admin_utils import ReadOnlyAdminMixin, pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from .models import AgentRecord, ApiKey, MemoryEntry
from .selectors import agent_active_lease_counts
from .services import agent_set_status, api_key_create, api_key_revoke



@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "principal", "is_operator", "created_at", "revoked_at"]
    list_filter = ["is_operator", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "principal", "prefix"]
    readonly_fields = ["prefix", "created_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "principal", "is_operator"]
        return ["name", "principal", "is_operator", "prefix", "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw_key = api_key_create(
            name=obj.name, principal=obj.principal, is_operator=obj.is_operator
        )
        obj.pk = created.pk
        obj.__dict__.update(created.__dict__)
        self.message_user(
            request,
            f"New API key (copy it now, it is not shown again): {raw_key}",
            level=messages.WARNING,
        )

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        revoked = sum(api_key_revoke(api_key=key) for key in queryset)
        self.message_user(request, f"Revoked {revoked} key(s).")

    def has_delete_permission(self, request, obj=None):
        # Revoke instead: keeping the row explains old events' actors.
        return False


# --- RFC-0016 agents: health at a glance ----------------------------------------------------

HEALTH_COLOURS = {"active": "#2e7d32", "draining": "#ef6c00", "unhealthy": "#c62828", "dead": "#555", "deregistered": "#999"}


@admin.register(AgentRecord)
class AgentRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["agent_id", "health", "last_heartbeat_at", "silence", "leases_held", "tasks_running", "role_id", "capabilities", "memory_link", "version"]
    list_filter = ["status", "role_id"]
    search_fields = ["agent_id", "name", "role_id"]
    ordering = ["status", "agent_id"]
    actions = ["drain", "cancel_drain", "deregister"]
    readonly_fields = ["agent_id", "status", "role_id", "name", "endpoint", "capabilities", "capacity_json", "heartbeat_config_json",
                       "metadata_json", "registered_at", "last_heartbeat_at", "drain_started_at", "drain_timeout_seconds", "version"]
    fields = readonly_fields

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One query each for leases and running tasks over the page (no N+1).
        from intents.models import Task

        ids = [r.agent_id for r in changelist.result_list]
        self._leases = agent_active_lease_counts(ids)
        self._tasks = {}
        for agent_id in Task.objects.filter(assigned_agent__in=ids, status__in=("claimed", "running")).values_list("assigned_agent", flat=True):
            self._tasks[agent_id] = self._tasks.get(agent_id, 0) + 1
        return changelist

    @admin.display(description="Health", ordering="status")
    def health(self, obj):
        return format_html('<b style="color:{}">{}</b>', HEALTH_COLOURS.get(obj.status, "#000"), obj.status)

    @admin.display(description="Silence")
    def silence(self, obj):
        since = obj.last_heartbeat_at or obj.registered_at
        seconds = int((timezone.now() - since).total_seconds())
        return f"{seconds} s (unhealthy > {obj.unhealthy_after_seconds} s, dead > {obj.dead_after_seconds} s)"

    @admin.display(description="Leases held")
    def leases_held(self, obj):
        return getattr(self, "_leases", {}).get(obj.agent_id, 0)

    @admin.display(description="Tasks running")
    def tasks_running(self, obj):
        return getattr(self, "_tasks", {}).get(obj.agent_id, 0)

    @admin.display(description="Memory")
    def memory_link(self, obj):
        url = reverse("admin:agents_registry_memoryentry_changelist") + f"?agent_id={obj.agent_id}"
        return format_html('<a href="{}">browse</a>', url)

    def capacity_json(self, obj):
        return pretty_json(obj.capacity)

    def heartbeat_config_json(self, obj):
        return pretty_json(obj.heartbeat_config)

    def metadata_json(self, obj):
        return pretty_json(obj.metadata)

    def _set(self, request, queryset, status, reason):
        principal = principal_for_user(request.user)
        done = 0
        for record in queryset:
            try:
                agent_set_status(principal=principal, agent_id=record.agent_id, status=status, reason=reason)
                done += 1
            except ProtocolError as error:
                self.message_user(request, f"{record.agent_id}: {error.detail}", level=messages.ERROR)
        self.message_user(request, f"{done} agent(s) set to {status}.")

    @admin.action(description="Drain selected agents")
    def drain(self, request, queryset):
        self._set(request, queryset, "draining", f"drained by {request.user.get_username()}")

    @admin.action(description="Cancel drain")
    def cancel_drain(self, request, queryset):
        self._set(request, queryset, "active", None)

    @admin.action(description="Deregister selected agents")
    def deregister(self, request, queryset):
        self._set(request, queryset, "deregistered", None)



@admin.register(MemoryEntry)
class MemoryEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Memory browsing per agent: filter by agent (?agent_id=...), tier, namespace, tags."""

    list_display = ["agent_id", "namespace", "key", "memory_type", "tags", "pinned", "priority", "version", "updated_at", "expires_at"]
    list_filter = ["memory_type", "pinned", "priority", "agent_id"]
    search_fields = ["agent_id", "namespace", "key", "tags"]
    ordering = ["agent_id", "-updated_at"]
    readonly_fields = ["id", "agent_id", "namespace", "key", "memory_type", "value_json", "scope_json", "tags", "ttl",
                       "pinned", "priority", "sensitivity", "version", "size_bytes", "created_at", "updated_at", "last_accessed_at", "expires_at"]
    fields = readonly_fields

    def value_json(self, obj):
        return pretty_json(obj.value)

    def scope_json(self, obj):
        return pretty_json(obj.scope)
