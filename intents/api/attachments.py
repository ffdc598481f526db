"""RFC-0005 attachment routes (05): metadata-only (REF), base64 content and multipart upload,
download, delete. Views validate, call one service and shape the answer."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from openintent_project.api.fields import ObjectField, StrictCharField, StrictIntegerField
from openintent_project.api.parsers import AnyContentJSONParser, ProtocolJSONParser
from openintent_project.api.schema import errors
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.timestamps import format_timestamp
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import InvalidInput

from ..models import Attachment
from ..services import attachments as service

# --- wire shape ------------------------------------------------------------------------


def attachment_dict(attachment: Attachment, request=None) -> dict:
    storage_url = attachment.storage_url
    if attachment.has_content and request is not None:
        storage_url = request.build_absolute_uri(storage_url)
    uploader = attachment.created_by
    return {
        "id": str(attachment.id),
        "intent_id": str(attachment.intent_id),
        "filename": attachment.filename,
        "mime_type": attachment.mime_type,
        "size": attachment.size,
        "storage_url": storage_url,
        "created_by": uploader,
        "uploaded_by": uploader,  # FIX (05): the SDK and RFC read uploaded_by
        "metadata": attachment.metadata,
        "description": attachment.description,
        "sha256": attachment.sha256,
        "has_content": attachment.has_content,
        "created_at": format_timestamp(attachment.created_at),
    }


# --- parsers: bodies that carry content may be as large as the attachment limit ----------------


def _content_body_limit() -> int:
    # base64 is 4/3 of the bytes, plus room for the other fields.
    return max(settings.OPENINTENT_MAX_BODY_BYTES, (settings.OPENINTENT_MAX_ATTACHMENT_BYTES + 2) // 3 * 4 + 64 * 1024)


class AttachmentJSONParser(ProtocolJSONParser):
    def max_bytes(self) -> int:
        return _content_body_limit()


class AttachmentAnyContentJSONParser(AnyContentJSONParser):
    def max_bytes(self) -> int:
        return _content_body_limit()


class AttachmentSizeLimitHandler(FileUploadHandler):
    """First in the upload handler chain: refuses a multipart file part as soon as it grows
    past the limit (413), before the rest is read or anything is stored."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.OPENINTENT_MAX_ATTACHMENT_BYTES + 1024 * 1024:
            raise service.too_large(content_length)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.OPENINTENT_MAX_ATTACHMENT_BYTES:
            raise service.too_large(start + len(raw_data))
        return raw_data

    def file_complete(self, file_size):
        return None


# --- input -------------------------------------------------------------------------------

MAX_SIZE = 2**63 - 1  # the column is a signed 64-bit integer


class AttachmentCreateInputSerializer(ProtocolSerializer):
    """REF names, the async client's aliases (content_type, url, size_bytes; the REF name
    wins when both are sent) and the content form (content_base64, description)."""

    filename = StrictCharField(max_length=1000)
    mime_type = StrictCharField(required=False, max_length=255)
    content_type = StrictCharField(required=False, max_length=255)
    size = StrictIntegerField(required=False, min_value=0, max_value=MAX_SIZE)
    size_bytes = StrictIntegerField(required=False, min_value=0, max_value=MAX_SIZE)
    storage_url = StrictCharField(required=False, allow_blank=True)
    url = StrictCharField(required=False, allow_blank=True)
    metadata = ObjectField(required=False, allow_null=True, default=None)
    description = StrictCharField(required=False, allow_blank=True, allow_null=True, default="")
    content_base64 = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)

    def validate(self, data):
        merged = {
            "filename": data["filename"],
            "mime_type": data.get("mime_type", data.get("content_type")),
            "size": data.get("size", data.get("size_bytes")),
            "storage_url": data.get("storage_url", data.get("url")),
            "metadata": data.get("metadata") or {},
            "description": data.get("description") or "",
            "content_base64": data.get("content_base64"),
        }
        if merged["content_base64"] is None:
            # Metadata-only (REF): every field is required, one item per missing field.
            missing = {
                name: [serializers.ErrorDetail("Field required", code="required")]
                for name in ("mime_type", "size", "storage_url")
                if merged[name] is None
            }
            if missing:
                raise serializers.ValidationError(missing)
        return merged


class AttachmentSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    filename = serializers.CharField()
    mime_type = serializers.CharField()
    size = serializers.IntegerField()
    storage_url = serializers.CharField()
    created_by = serializers.CharField()
    uploaded_by = serializers.CharField()
    metadata = serializers.DictField()
    description = serializers.CharField()
    sha256 = serializers.CharField(allow_null=True)
    has_content = serializers.BooleanField()
    created_at = serializers.CharField()


class AttachmentMultipartInputSerializer(ProtocolSerializer):
    file = serializers.FileField(allow_empty_file=True, max_length=None)
    filename = serializers.CharField(required=False, max_length=1000)
    content_type = serializers.CharField(required=False, max_length=255)
    mime_type = serializers.CharField(required=False, max_length=255)
    size = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SIZE)
    metadata = serializers.CharField(required=False, allow_blank=True, help_text="A JSON object, as text")
    description = serializers.CharField(required=False, allow_blank=True)


# --- views --------------------------------------------------------------------------------


class AttachmentViewSet(ProtocolViewSet):
    parser_classes = [AttachmentJSONParser, MultiPartParser, AttachmentAnyContentJSONParser]

    def initial(self, request, *args, **kwargs):
        if request.content_type.startswith("multipart/"):
            request.upload_handlers.insert(0, AttachmentSizeLimitHandler(request))
        super().initial(request, *args, **kwargs)

    @extend_schema(operation_id="intents_attachments_list", responses={200: AttachmentSerializer(many=True), **errors(403)})
    def list(self, request, intent_id=None):
        items = service.attachment_list(principal=self.principal, intent_id=intent_id)
        return Response([attachment_dict(a, request) for a in items])

    @extend_schema(
        operation_id="intents_attachments_create",
        request={"application/json": AttachmentCreateInputSerializer, "multipart/form-data": AttachmentMultipartInputSerializer},
        responses={200: AttachmentSerializer, **errors(400, 403, 404, 413)},
    )
    def create(self, request, intent_id=None):
        if request.content_type.startswith("multipart/"):
            fields = self._multipart_fields()
        else:
            fields = dict(self.body(AttachmentCreateInputSerializer))
            encoded = fields.pop("content_base64")
            fields["content"] = service.content_from_base64(encoded) if encoded is not None else None
        attachment = service.attachment_add(principal=self.principal, intent_id=intent_id, **fields)
        return Response(attachment_dict(attachment, request))

    def _multipart_fields(self) -> dict:
        form = self.body(AttachmentMultipartInputSerializer, data=self.request.data.dict())
        metadata = {}
        if form.get("metadata"):
            try:
                metadata = json.loads(form["metadata"])
            except ValueError:
                metadata = None
            if not isinstance(metadata, dict):
                raise InvalidInput.at(("body", "metadata"), "Input should be a JSON object", type="dict_type", input=form["metadata"])
        upload = form["file"]
        return {
            "filename": form.get("filename") or upload.name or "upload",
            "mime_type": form.get("mime_type") or form.get("content_type") or upload.content_type,
            "size": form.get("size"),
            "metadata": metadata,
            "description": form.get("description") or "",
            "content": service.content_from_upload(upload),
        }

    @extend_schema(operation_id="intents_attachments_delete", request=None, responses={204: OpenApiResponse(description="Deleted"), **errors(403, 404)})
    def destroy(self, request, intent_id=None, attachment_id=None):
        service.attachment_delete(principal=self.principal, intent_id=intent_id, attachment_id=attachment_id)
        return Response(status=204)

    @extend_schema(
        operation_id="intents_attachments_content",
        # The bytes come back with the content type they were stored with, whatever it is.
        responses={(200, "*/*"): OpenApiTypes.BINARY, **errors(403, 404)},
    )
    def content(self, request, intent_id=None, attachment_id=None):
        attachment, handle = service.attachment_content(
            principal=self.principal, intent_id=intent_id, attachment_id=attachment_id
        )
        response = FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=attachment.mime_type)
        response["Content-Length"] = str(attachment.size)
        response["ETag"] = f'"{attachment.sha256}"'
        return response
