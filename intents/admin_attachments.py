"""Admin for attachments (RFC-0005): browse, download stored content, delete through the
service (so the stored bytes go too, after commit)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from openintent_project.admin_utils import pretty_json
from openintent_project.api.principal import principal_for_user
from openintent_project.errors import ProtocolError

from .models import Attachment
from .services import attachments as service


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "intent", "mime_type", "size", "has_content", "created_by", "created_at", "download_link"]
    list_filter = ["mime_type", "created_at"]
    search_fields = ["id", "filename", "intent__id", "intent__title", "created_by", "sha256"]
    list_select_related = ["intent"]
    raw_id_fields = ["intent"]
    fields = [
        "id", "intent", "filename", "mime_type", "size", "sha256", "storage_url", "download_link",
        "description", "metadata_json", "created_by", "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # agents attach through the API

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="Content")
    def has_content(self, obj):
        return obj.has_content

    @admin.display(description="Metadata")
    def metadata_json(self, obj):
        return pretty_json(obj.metadata)

    @admin.display(description="Download")
    def download_link(self, obj):
        if not obj.has_content:
            return "—"
        url = reverse("admin:intents_attachment_download", args=[obj.pk])
        return format_html('<a href="{}">download ({} bytes)</a>', url, obj.size)

    def get_urls(self):
        download = path(
            "<uuid:pk>/download/", self.admin_site.admin_view(self.download_view), name="intents_attachment_download"
        )
        return [download, *super().get_urls()]

    def download_view(self, request, pk):
        attachment = get_object_or_404(Attachment, pk=pk)
        if not self.has_view_permission(request, attachment):
            raise PermissionDenied
        try:
            _, handle = service.attachment_content(
                principal=principal_for_user(request.user), intent_id=attachment.intent_id, attachment_id=attachment.pk
            )
        except ProtocolError as error:
            raise Http404(error.detail)
        response = FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=attachment.mime_type)
        response["ETag"] = f'"{attachment.sha256}"'
        return response

    def _delete(self, request, obj) -> bool:
        try:
            service.attachment_delete(
                principal=principal_for_user(request.user), intent_id=obj.intent_id, attachment_id=obj.pk
            )
            return True
        except ProtocolError as error:
            self.message_user(request, f"{obj}: {error.detail}", level=messages.ERROR)
            return False

    def delete_model(self, request, obj):
        self._delete(request, obj)

    def delete_queryset(self, request, queryset):
        for attachment in queryset:
            self._delete(request, attachment)
