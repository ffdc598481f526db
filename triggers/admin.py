"""Operators see each trigger's next fire time and last outcome, and fire, enable or disable
it through the same services as the API (never a raw save)."""

from __future__ import annotations

from django.contrib import admin, messages

from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from . import selectors, services
from .models import Trigger, TriggerFire


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "enabled", "namespace", "deduplication", "fire_count", "next_fire_at", "last_fired_at", "last_outcome")
    list_filter = ("type", "enabled", "deduplication")
    search_fields = ("name", "namespace", "webhook_path")
    readonly_fields = [f.name for f in Trigger._meta.fields if f.name != "secret_encrypted"] + ["last_outcome", "has_secret"]
    exclude = ("secret_encrypted",)
    actions = ("fire_selected", "enable_selected", "disable_selected")

    def get_queryset(self, request):
        return selectors.with_last_outcome(super().get_queryset(request))

    @admin.display(description="last outcome")
    def last_outcome(self, obj):
        return getattr(obj, "last_outcome", None) or "—"

    @admin.display(description="webhook secret set", boolean=True)
    def has_secret(self, obj):
        return bool(obj.secret_encrypted)

    def has_add_permission(self, request):
        return False  # created through the API, which validates conditions and templates

    def delete_model(self, request, obj):
        services.trigger_delete(principal=principal_for_user(request.user), trigger_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for trigger in queryset:
            self.delete_model(request, trigger)

    def _each(self, request, queryset, verb, call):
        principal = principal_for_user(request.user)
        done = 0
        for trigger in queryset:
            try:
                call(principal, trigger)
                done += 1
            except ProtocolError as error:
                self.message_user(request, f"{trigger.name}: {error.detail}", messages.WARNING)
        self.message_user(request, f"{verb} {done} trigger(s).")

    @admin.action(description="Fire selected triggers now")
    def fire_selected(self, request, queryset):
        def fire(principal, trigger):
            result = services.trigger_fire_manual(principal=principal, trigger_id=trigger.pk)
            self.message_user(request, f"{trigger.name}: {result.outcome}")
        self._each(request, queryset, "Fired", fire)

    @admin.action(description="Enable selected triggers")
    def enable_selected(self, request, queryset):
        self._each(request, queryset, "Enabled", lambda p, t: services.trigger_set_enabled(principal=p, trigger_id=t.pk, enabled=True))

    @admin.action(description="Disable selected triggers")
    def disable_selected(self, request, queryset):
        self._each(request, queryset, "Disabled", lambda p, t: services.trigger_set_enabled(principal=p, trigger_id=t.pk, enabled=False))


@admin.register(TriggerFire)
class TriggerFireAdmin(admin.ModelAdmin):
    list_display = ("trigger_name", "trigger_id", "fired_at", "source", "outcome", "intent_id", "fire_count")
    list_filter = ("source", "outcome")
    search_fields = ("trigger_name", "=trigger_id", "=intent_id")
    readonly_fields = [f.name for f in TriggerFire._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
