"""Attachments (RFC-0005): metadata, and optionally the bytes themselves (05, "Content")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # The storage key never contains the client's filename: it is kept in the row, and a
    # key made of ids cannot collide or traverse.
    return f"{settings.OPENINTENT_ATTACHMENT_PREFIX}/{instance.intent_id}/{instance.id}"


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    intent = models.ForeignKey("intents.Intent", on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=1000)
    mime_type = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    # Metadata-only attachments: the client's URL, opaque. Stored content: our download path.
    storage_url = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200)
    metadata = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True, default="")
    # Stored content (null for metadata-only attachments), through default_storage.
    content = models.FileField(upload_to=attachment_upload_to, max_length=500, null=True, blank=True)
    sha256 = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["intent", "created_at"], name="attachment_intent_created")]

    def __str__(self) -> str:
        return self.filename

    @property
    def has_content(self) -> bool:
        return bool(self.content)
