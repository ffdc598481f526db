"""RFC-0017 trigger routes. Views validate, call one service, and shape the answer; rules
live in ``triggers.services``."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from intents.representations import intent_dict
from openintent_project.api.conditional import expected_version_428
from openintent_project.api.schema import IF_MATCH, errors
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import InvalidInput, PayloadTooLarge, ProtocolError

from .. import selectors, services
from ..kinds.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from ..models import FireOutcome
from ..representations import fire_dict, trigger_dict
from . import serializers as s


def fire_response(result: services.FireResult) -> dict:
    trigger = result.trigger
    body = {"status": result.outcome, "fire_count": trigger.fire_count, "trigger_id": str(trigger.pk)}
    if result.outcome == FireOutcome.FIRED and result.intent is not None:
        body.update(intent_id=str(result.intent.pk), intent=intent_dict(result.intent), deduplicated=False)
    elif result.outcome in (FireOutcome.SKIPPED, FireOutcome.QUEUED):
        body.update(deduplicated=True, existing_intent_id=result.existing_intent_id)
    else:
        body.update(deduplicated=False)
    return body


class TriggerViewSet(ProtocolViewSet):
    @extend_schema(operation_id="triggers_list", parameters=[s.TriggerListQuerySerializer], responses={200: s.TriggerSerializer(many=True), **errors(400)})
    def list(self, request):
        query = self.query(s.TriggerListQuerySerializer)
        triggers = selectors.trigger_list(namespace=query.get("namespace"), type=query.get("type"), enabled=query.get("enabled"))
        return Response([trigger_dict(t) for t in triggers])

    @extend_schema(operation_id="triggers_create", request=s.TriggerCreateInputSerializer, responses={200: s.TriggerSerializer, **errors(400, 409)})
    def create(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput.at(("body",), "Input should be a valid dictionary", type="dict_type", input=request.data)
        body, folded = s.fold_shorthands(request.data)
        data = self.body(s.TriggerCreateInputSerializer, data=body)
        condition = data["condition"]
        if folded:
            condition = {**(condition or {}), **folded}
        trigger = services.trigger_create(
            principal=self.principal, name=data["name"], type=data["type"], condition=condition,
            intent_template=data["intent_template"], deduplication=data["deduplication"],
            namespace=data["namespace"], enabled=data["enabled"],
        )
        return Response(trigger_dict(trigger))

    @extend_schema(operation_id="triggers_retrieve", responses={200: s.TriggerSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        return Response(trigger_dict(services.trigger_get(pk)))

    @extend_schema(operation_id="triggers_update", parameters=[IF_MATCH], request=s.TriggerUpdateInputSerializer, responses={200: s.TriggerSerializer, **errors(400, 404, 409, 428)})
    def partial_update(self, request, pk=None):
        version = expected_version_428(request)
        if not isinstance(request.data, dict):
            raise InvalidInput.at(("body",), "Input should be a valid dictionary", type="dict_type", input=request.data)
        body, folded = s.fold_shorthands(request.data)
        changes = dict(self.body(s.TriggerUpdateInputSerializer, data=body))
        if folded:
            # Shorthands change single condition keys; an explicit condition replaces it all.
            base = changes["condition"] if "condition" in changes else services.trigger_get(pk).condition
            changes["condition"] = {**(base or {}), **folded}
        trigger = services.trigger_update(principal=self.principal, trigger_id=pk, expected_version=version, changes=changes)
        return Response(trigger_dict(trigger), headers={"ETag": f'"{trigger.version}"'})

    @extend_schema(operation_id="triggers_delete", responses={200: s.TriggerDeletedSerializer, **errors(404)})
    def destroy(self, request, pk=None):
        trigger = services.trigger_get(pk)
        services.trigger_delete(principal=self.principal, trigger_id=trigger.pk)
        return Response({"status": "deleted", "trigger_id": str(trigger.pk)})

    @extend_schema(operation_id="triggers_fire", request=s.TriggerFireInputSerializer, responses={200: s.TriggerFireResultSerializer, **errors(400, 404, 409)})
    @action(detail=True, methods=["post"])
    def fire(self, request, pk=None):
        # The official client posts no body at all.
        raw = request.data if isinstance(request.data, dict) else {}
        data = self.body(s.TriggerFireInputSerializer, data=raw)
        result = services.trigger_fire_manual(principal=self.principal, trigger_id=pk, payload=data["payload"], body=raw)
        return Response(fire_response(result))

    @extend_schema(operation_id="triggers_history", parameters=[s.TriggerHistoryQuerySerializer], responses={200: s.TriggerFireHistorySerializer(many=True), **errors(400, 404)})
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        query = self.query(s.TriggerHistoryQuerySerializer)
        return Response([fire_dict(f) for f in selectors.trigger_history(trigger_id=pk, limit=query["limit"])])


@method_decorator(csrf_exempt, name="dispatch")
class WebhookReceiveView(View):
    """``/webhooks/{path}`` (17 §3 NEW): public, no API key; the trigger's secret signs it."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch(self, request, path: str):
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.TRIGGERS_WEBHOOK_MAX_BODY_BYTES:
                raise PayloadTooLarge("Webhook body too large")
            try:
                raw = request.body
            except RequestDataTooBig:
                raise PayloadTooLarge("Webhook body too large") from None
            result = services.webhook_receive(
                method=request.method, path=path, raw_body=raw, body=_parse_body(raw),
                headers={k.lower(): v for k, v in request.headers.items()},
                query=request.GET.dict(),
                signature=request.headers.get(SIGNATURE_HEADER),
                timestamp=request.headers.get(TIMESTAMP_HEADER),
            )
        except ProtocolError as error:
            response = JsonResponse(error.body(), status=error.status_code)
            if getattr(error, "retry_after", None):
                response["Retry-After"] = str(error.retry_after)
            return response
        trigger_id = str(result.trigger.pk)
        if not result.claimed or result.outcome in (FireOutcome.SKIPPED, FireOutcome.QUEUED):
            return JsonResponse({"deduplicated": True, "trigger_id": trigger_id}, status=200)
        if result.intent is None:
            return JsonResponse({"status": result.outcome, "trigger_id": trigger_id}, status=200)
        return JsonResponse({"intent_id": str(result.intent.pk), "trigger_id": trigger_id}, status=202)


def _parse_body(raw: bytes):
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")
