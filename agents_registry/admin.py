from django.contrib import admin, messages

from .models import ApiKey
from .services import api_key_create, api_key_revoke


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
