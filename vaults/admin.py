"""Operator screens for RFC-0014. Secrets are write-only: a password-type field sets or rotates
them (through the services), and no page ever renders a secret or its ciphertext."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages

from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from . import services
from .models import Credential, ToolGrant, ToolInvocation, Vault


@admin.register(Vault)
class VaultAdmin(admin.ModelAdmin):
    list_display = ("name", "owner_id", "created_at")
    search_fields = ("name", "owner_id")
    fields = ("owner_id", "name")

    def save_model(self, request, obj, form, change):
        principal = principal_for_user(request.user)
        if change:
            services.vault_update(principal=principal, vault_id=obj.pk, **{f: form.cleaned_data[f] for f in self.fields})
        else:
            created = services.vault_create(principal=principal, owner_id=obj.owner_id, name=obj.name)
            obj.pk, obj.created_at = created.pk, created.created_at


class CredentialForm(forms.ModelForm):
    new_secret = forms.CharField(
        required=False, strip=False,
        # render_value=False: the secret is never sent back to the browser, even on errors.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "size": 80}),
        label="Set / rotate secret",
        help_text='A JSON object, e.g. {"api_key": "..."}. Leave empty to keep the stored secret. '
                  "The stored secret is never displayed.",
    )

    class Meta:
        model = Credential
        fields = ("vault", "service", "label", "auth_type", "scopes_available", "status", "metadata", "expires_at")

    def clean_new_secret(self):
        raw = self.cleaned_data.get("new_secret") or ""
        if not raw.strip():
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            # Never echo the input back: it is a secret.
            raise forms.ValidationError("Enter a JSON object.") from None
        if not isinstance(value, dict) or not all(isinstance(v, (str, int, float, bool)) for v in value.values()):
            raise forms.ValidationError("Enter a JSON object of string values.")
        return value


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    form = CredentialForm
    list_display = ("service", "label", "vault", "auth_type", "status", "key_id", "created_at", "rotated_at")
    list_filter = ("status", "auth_type")
    list_select_related = ("vault",)
    search_fields = ("service", "label")
    raw_id_fields = ("vault",)
    readonly_fields = ("secret_fields", "key_id", "created_at", "rotated_at")
    fields = (*CredentialForm.Meta.fields, "new_secret", "secret_fields", "key_id", "created_at", "rotated_at")
    actions = ["revoke_selected"]

    @admin.action(description="Revoke selected credentials (and every grant on them)")
    def revoke_selected(self, request, queryset):
        principal = principal_for_user(request.user)
        grants = 0
        for credential in queryset:
            grants += services.credential_revoke(principal=principal, credential_id=credential.pk)[1]
        self.message_user(request, f"Revoked {queryset.count()} credential(s) and {grants} grant(s).", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        principal = principal_for_user(request.user)
        data = {f: form.cleaned_data.get(f) for f in CredentialForm.Meta.fields}
        secret = form.cleaned_data.get("new_secret")
        if change:
            services.credential_update(principal=principal, credential_id=obj.pk, **data)
            if secret is not None:
                services.credential_rotate_secret(principal=principal, credential_id=obj.pk, secret=secret)
        else:
            data.pop("status", None)
            created = services.credential_create(
                principal=principal, vault_id=data.pop("vault").pk, secret=secret, **data
            )
            obj.pk = created.pk
            obj.created_at = created.created_at


@admin.register(ToolGrant)
class ToolGrantAdmin(admin.ModelAdmin):
    list_display = ("id", "agent_id", "credential", "status", "scopes", "expires_at", "created_at", "revoked_at")
    list_filter = ("status", "source")
    list_select_related = ("credential",)
    search_fields = ("agent_id", "granted_by")
    raw_id_fields = ("credential",)
    actions = ["revoke_selected"]
    add_fields = ("credential", "agent_id", "granted_by", "scopes", "constraints", "delegatable", "context", "expires_at")
    shown_fields = (
        "credential", "agent_id", "granted_by", "scopes", "constraints", "source", "delegatable",
        "delegation_depth", "delegated_from", "context", "status", "expires_at", "created_at", "revoked_at",
        "rate_window_start", "rate_window_count",
    )

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        # Grants change only through services: revoke with the action below.
        return () if obj is None else self.shown_fields

    def save_model(self, request, obj, form, change):
        if change:
            return
        data = {f: form.cleaned_data.get(f) for f in self.add_fields}
        try:
            created = services.grant_create(
                principal=principal_for_user(request.user), credential_id=data.pop("credential").pk, **data
            )
        except ProtocolError as exc:
            self.message_user(request, f"Grant not created: {exc.detail}", messages.ERROR)
            return
        obj.pk = created.pk

    @admin.action(description="Revoke selected grants (and their delegations)")
    def revoke_selected(self, request, queryset):
        principal = principal_for_user(request.user)
        revoked = cascaded = 0
        for grant in queryset:
            _grant, cascade = services.grant_revoke(principal=principal, grant_id=grant.pk, reason="revoked_by_operator")
            revoked += 1
            cascaded += cascade
        self.message_user(request, f"Revoked {revoked} grant(s) and {cascaded} delegated grant(s).", messages.SUCCESS)


@admin.register(ToolInvocation)
class ToolInvocationAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "agent_id", "service", "tool", "status", "duration_ms")
    list_filter = ("status", "service")
    list_select_related = ("grant",)
    search_fields = ("agent_id", "tool", "service")
    date_hierarchy = "timestamp"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
