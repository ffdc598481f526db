"""Attachments (RFC-0005, 05): metadata-only references and stored content.

Content goes through Django's storage API. The bytes are written *before* the row's
transaction and removed again if that transaction fails, so a failed insert never leaves an
orphan file and no slow storage I/O runs under the intent row lock. Deleting removes the bytes
only after the deleting transaction commits, so a rollback never loses content."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse

from openintent_project.api.principal import Principal
from openintent_project.errors import InvalidInput, NotFound, PayloadTooLarge, ServiceUnavailable

from .. import access, events
from ..access import Permission
from ..models import Attachment, Intent
from .core import _as_uuid, intent_get, intent_lock

logger = logging.getLogger(__name__)

ATTACHMENT_NOT_FOUND = "Attachment not found"
NO_CONTENT = "Attachment has no stored content"
DEFAULT_MIME_TYPE = "application/octet-stream"


@dataclass
class Content:
    """Validated bytes ready to store: a file-like object, its size and SHA-256."""

    file: File
    size: int
    sha256: str


def max_attachment_bytes() -> int:
    return settings.OPENINTENT_MAX_ATTACHMENT_BYTES


def too_large(size: int) -> PayloadTooLarge:
    limit = max_attachment_bytes()
    return PayloadTooLarge(f"Attachment too large: {size} bytes (limit {limit} bytes)", max_bytes=limit)


def content_from_base64(value: str, *, loc=("body", "content_base64")) -> Content:
    """Decode strictly (bad base64 → 400) and refuse oversize content (413) before anything
    is stored. The decoded size is known from the text length, so an oversized upload is
    refused without decoding it."""
    text = "".join(value.split())  # line-wrapped base64 (MIME style) is still base64
    padding = text[-2:].count("=") if text else 0
    if len(text) // 4 * 3 - padding > max_attachment_bytes():
        raise too_large(len(text) // 4 * 3 - padding)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.at(loc, "Input should be valid base64", type="base64_decode", input=None)
    return Content(file=ContentFile(data), size=len(data), sha256=hashlib.sha256(data).hexdigest())


def content_from_upload(upload: File) -> Content:
    """A multipart ``file`` part. Its size is checked before hashing or storing."""
    if upload.size is not None and upload.size > max_attachment_bytes():
        raise too_large(upload.size)
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    if size > max_attachment_bytes():
        raise too_large(size)
    upload.seek(0)
    return Content(file=upload, size=size, sha256=digest.hexdigest())


def download_path(attachment: Attachment) -> str:
    return reverse(
        "attachment-content", kwargs={"intent_id": str(attachment.intent_id), "attachment_id": str(attachment.id)}
    )


def attachment_add(
    *,
    principal: Principal,
    intent_id: str,
    filename: str,
    mime_type: str | None,
    size: int | None = None,
    storage_url: str | None = None,
    metadata: dict | None = None,
    description: str = "",
    content: Content | None = None,
) -> Attachment:
    """Add an attachment. With ``content`` the bytes are stored, ``size``/``sha256`` are
    computed (a client ``size`` that disagrees → 400) and ``storage_url`` becomes our download
    path. Without it, the REF metadata-only record. Raises NotFound (intent), Forbidden (ACL,
    write), InvalidInput, ServiceUnavailable (storage down). Logs ``attachment_added``.

    Contract: call it outside any transaction (as the API does). The bytes are cleaned up
    when this function's own transaction fails; an enclosing transaction that rolls back
    later could not be noticed."""
    intent = intent_get(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    attachment = Attachment(
        intent=intent,
        filename=filename,
        mime_type=mime_type or DEFAULT_MIME_TYPE,
        size=size or 0,
        storage_url=storage_url or "",
        created_by=principal.id,
        metadata=metadata or {},
        description=description or "",
    )
    if content is not None:
        if size is not None and size != content.size:
            raise InvalidInput.at(
                ("body", "size"), f"size {size} does not match the content's {content.size} bytes",
                type="value_error", input=size,
            )
        attachment.size = content.size
        attachment.sha256 = content.sha256
        attachment.storage_url = download_path(attachment)
        # Written outside the transaction (no storage I/O under the row lock); removed again
        # below if the row never commits.
        try:
            attachment.content.save(attachment.filename, content.file, save=False)
        except Exception as exc:
            logger.exception("could not store attachment content for intent %s", intent.pk)
            raise ServiceUnavailable("Attachment storage unavailable") from exc
    try:
        with transaction.atomic():
            intent = intent_lock(intent.pk)
            access.require_permission(principal, intent, Permission.WRITE)
            attachment.intent = intent
            attachment.save(force_insert=True)
            events.record(
                intent, "attachment_added", principal.id,
                {"attachment_id": str(attachment.id), "filename": attachment.filename, "size": attachment.size},
            )
    except BaseException:
        if attachment.content:
            _delete_stored(attachment.content.name)
        raise
    return attachment


def _attachment_for(intent_id: str, attachment_id: str, *, lock: bool = False) -> Attachment:
    """The attachment, which must belong to the path intent (05 FIX), else 404."""
    intent_pk, attachment_pk = _as_uuid(intent_id), _as_uuid(attachment_id)
    if intent_pk is None or attachment_pk is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    queryset = Attachment.objects.select_related("intent")
    if lock:
        queryset = queryset.select_for_update()
    attachment = queryset.filter(pk=attachment_pk, intent_id=intent_pk).first()
    if attachment is None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    return attachment


def attachment_list(*, principal: Principal, intent_id: str) -> list[Attachment]:
    """Insertion order. An unknown intent has no attachments (REF: 200 [])."""
    pk = _as_uuid(intent_id)
    intent = Intent.objects.filter(pk=pk).first() if pk else None
    if intent is None:
        return []
    access.require_permission(principal, intent, Permission.READ)
    return list(Attachment.objects.filter(intent=intent).order_by("created_at", "id"))


def attachment_content(*, principal: Principal, intent_id: str, attachment_id: str) -> tuple[Attachment, IO[bytes]]:
    """The attachment and an open file of its bytes (the caller closes it)."""
    attachment = _attachment_for(intent_id, attachment_id)
    access.require_permission(principal, attachment.intent, Permission.READ)
    if not attachment.content:
        raise NotFound(NO_CONTENT)
    try:
        handle = attachment.content.storage.open(attachment.content.name, "rb")
    except FileNotFoundError:
        logger.error("attachment %s: stored content %s is missing", attachment.pk, attachment.content.name)
        raise NotFound(NO_CONTENT)
    return attachment, handle


@transaction.atomic
def attachment_delete(*, principal: Principal, intent_id: str, attachment_id: str) -> None:
    """Delete the row; its stored bytes are removed after commit. No event (05)."""
    attachment = _attachment_for(intent_id, attachment_id, lock=True)
    access.require_permission(principal, attachment.intent, Permission.WRITE)
    name = attachment.content.name if attachment.content else None
    attachment.delete()
    if name:
        transaction.on_commit(lambda: _delete_stored(name))


def _delete_stored(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # a storage outage must not turn a committed delete into an error
        logger.exception("could not delete stored attachment content %s", name)
