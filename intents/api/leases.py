"""Routes of leases (RFC-0003, 03), costs (RFC-0009, 09), retry policies and failures
(RFC-0010, 10), nested under an intent. Views validate, call one service, and shape the
answer."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, OpenApiResponse, extend_schema
from rest_framework.response import Response

from openintent_project.api.schema import errors
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import InvalidInput

from ..representations_leases import cost_dict, failure_dict, lease_dict, retry_policy_dict
from ..services import costs as cost_services
from ..services import leases as lease_services
from ..services import retries as retry_services
from . import serializers_leases as s

LEASE_CONFLICT = OpenApiResponse(s.LeaseConflictSerializer, description="Lease already held for this scope")


# GET …/costs answers a bare array (REF), or an object with ?summary=true (RFC-0009).
COSTS_OR_SUMMARY = PolymorphicProxySerializer(
    component_name="CostsOrSummary",
    serializers=[s.CostSerializer(many=True), s.CostListWithSummarySerializer],
    resource_type_field_name=None,
    many=False,
)


class LeaseViewSet(ProtocolViewSet):
    lookup_field = "lease_id"

    @extend_schema(operation_id="intents_leases_list", parameters=[s.LeaseListQuerySerializer], responses={200: s.LeaseListSerializer, **errors(400, 403)})
    def list(self, request, intent_id=None):
        query = self.query(s.LeaseListQuerySerializer)
        leases = lease_services.lease_list(principal=self.principal, intent_id=intent_id, status=query.get("status"))
        return Response({"leases": [lease_dict(lease) for lease in leases]})

    @extend_schema(operation_id="intents_leases_acquire", request=s.LeaseAcquireInputSerializer, responses={200: s.LeaseSerializer, **errors(400, 403, 404, 422), 409: LEASE_CONFLICT})
    def create(self, request, intent_id=None):
        data = s.plain_acquire_body(request.data) or self.body(s.LeaseAcquireInputSerializer)
        lease = lease_services.lease_acquire(
            principal=self.principal, intent_id=intent_id, scope=data["scope"],
            duration_seconds=data["duration_seconds"],
        )
        return Response(lease_dict(lease))

    @extend_schema(operation_id="intents_leases_renew", request=s.LeaseRenewInputSerializer, responses={200: s.LeaseSerializer, **errors(400, 403, 404), 409: LEASE_CONFLICT})
    def partial_update(self, request, intent_id=None, lease_id=None):
        # A body is required ({} is fine); REF answers a bodiless PATCH with a validation error.
        if not int(request.META.get("CONTENT_LENGTH") or 0) and "HTTP_TRANSFER_ENCODING" not in request.META:
            raise InvalidInput.at(("body",), "Field required", type="missing", input=None)
        data = self.body(s.LeaseRenewInputSerializer)
        lease = lease_services.lease_renew(
            principal=self.principal, intent_id=intent_id, lease_id=lease_id,
            duration_seconds=data["duration_seconds"],
        )
        return Response(lease_dict(lease))

    @extend_schema(operation_id="intents_leases_release", request=None, responses={200: s.MessageSerializer, **errors(403, 404)})
    def destroy(self, request, intent_id=None, lease_id=None):
        lease_services.lease_release(principal=self.principal, intent_id=intent_id, lease_id=lease_id)
        return Response({"message": "Lease released"})


class CostViewSet(ProtocolViewSet):
    @extend_schema(
        operation_id="intents_costs_list",
        parameters=[s.CostListQuerySerializer],
        description="A bare array (REF). With `?summary=true`: `{costs, summary}` (RFC-0009 form, which the official client also reads).",
        responses={200: OpenApiResponse(COSTS_OR_SUMMARY, description="Cost records, or {costs, summary} with ?summary=true"), **errors(400, 403)},
    )
    def list(self, request, intent_id=None):
        query = self.query(s.CostListQuerySerializer)
        costs = cost_services.cost_list(principal=self.principal, intent_id=intent_id)
        records = [cost_dict(cost) for cost in costs]
        if not query["summary"]:
            return Response(records)
        return Response({"costs": records, "summary": cost_services.cost_summary(intent_id=intent_id, costs=costs)})

    @extend_schema(operation_id="intents_costs_record", request=s.CostRecordInputSerializer, responses={200: s.CostSerializer, **errors(400, 403, 404)})
    def create(self, request, intent_id=None):
        data = self.body(s.CostRecordInputSerializer)
        metadata = data.get("cost_metadata")
        if metadata is None:  # cost_metadata (REF) wins over the metadata alias (09 FIX)
            metadata = data.get("metadata")
        cost = cost_services.cost_record(
            principal=self.principal, intent_id=intent_id, agent_id=data.get("agent_id") or None,
            cost_type=data["cost_type"], amount=data["amount"], unit=data["unit"],
            provider=data.get("provider"), metadata=metadata,
        )
        return Response(cost_dict(cost))


class RetryPolicyViewSet(ProtocolViewSet):
    @extend_schema(operation_id="intents_retry_policy_retrieve", responses={200: s.RetryPolicySerializer, **errors(403, 404)})
    def list(self, request, intent_id=None):
        return Response(retry_policy_dict(retry_services.retry_policy_get(principal=self.principal, intent_id=intent_id)))

    @extend_schema(operation_id="intents_retry_policy_set", request=s.RetryPolicyInputSerializer, responses={200: s.RetryPolicySerializer, **errors(400, 403, 404)})
    def put(self, request, intent_id=None):
        data = dict(self.body(s.RetryPolicyInputSerializer))
        if data.get("fallback_agent_id") == "":
            data["fallback_agent_id"] = None
        policy = retry_services.retry_policy_set(principal=self.principal, intent_id=intent_id, **data)
        return Response(retry_policy_dict(policy))


class FailureViewSet(ProtocolViewSet):
    @extend_schema(operation_id="intents_failures_list", parameters=[s.FailureListQuerySerializer], responses={200: s.FailureSerializer(many=True), **errors(400, 403)})
    def list(self, request, intent_id=None):
        query = self.query(s.FailureListQuerySerializer)
        failures = retry_services.failure_list(principal=self.principal, intent_id=intent_id, limit=query.get("limit"))
        return Response([failure_dict(failure) for failure in failures])

    @extend_schema(operation_id="intents_failures_record", request=s.FailureInputSerializer, responses={200: s.FailureSerializer, **errors(400, 403, 404)})
    def create(self, request, intent_id=None):
        data = self.body(s.FailureInputSerializer)
        metadata = dict(data.get("metadata") or {})
        if "recoverable" in data:  # the async client's extra key (10, MAY keep it in metadata)
            metadata.setdefault("recoverable", data["recoverable"])
        attempt = data.get("attempt_number")
        failure = retry_services.failure_record(
            principal=self.principal, intent_id=intent_id,
            attempt_number=1 if attempt is None else attempt,
            agent_id=data.get("agent_id") or None,
            error_type=data.get("error_type"), error_code=data.get("error_code"),
            error_message=data.get("error_message"), retry_scheduled_at=data.get("retry_scheduled_at"),
            metadata=metadata,
        )
        return Response(failure_dict(failure))
