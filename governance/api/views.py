"""RFC-0011 (access control), RFC-0003 governance part (arbitration, decisions) and RFC-0013
(coordinators, decision records, escalations, approvals, governance policy) routes. Views
validate, call one service and shape the answer; rules live in ``governance.services``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from intents.representations import intent_dict
from openintent_project.api.conditional import expected_version
from openintent_project.api.schema import IF_MATCH, errors
from openintent_project.api.viewsets import ProtocolViewSet

from .. import services
from ..representations import (
    access_request_dict,
    acl_dict,
    acl_entry_dict,
    approval_dict,
    arbitration_dict,
    coordinator_lease_dict,
    decision_dict,
    decision_record_as_decision,
    decision_record_dict,
    escalation_dict,
)
from . import serializers as s
from intents.api.serializers import IntentSerializer


def _intent_response(intent) -> Response:
    return Response(intent_dict(intent), headers={"ETag": f'"{intent.version}"'})


class IntentGovernanceViewSet(ProtocolViewSet):
    """Intent-scoped governance routes (``/api/v1/intents/{id}/…``)."""

    # --- RFC-0011 ACL ----------------------------------------------------------------------

    @extend_schema(methods=["GET"], operation_id="intents_acl_retrieve", responses={200: s.AclSerializer, **errors(403, 404)})
    @extend_schema(methods=["PUT"], operation_id="intents_acl_set", request=s.AclSetInputSerializer, responses={200: s.AclSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["get", "put"])
    def acl(self, request, pk=None):
        if request.method == "PUT":
            data = self.body(s.AclSetInputSerializer)
            intent, policy, entries = services.acl_set(
                principal=self.principal, intent_id=pk, default_policy=data["default_policy"], entries=data["entries"]
            )
        else:
            intent, policy, entries = services.acl_get(principal=self.principal, intent_id=pk)
        return Response(acl_dict(intent.pk, policy, entries))

    @extend_schema(operation_id="intents_acl_entries_grant", request=s.AclEntryInputSerializer, responses={200: s.AclEntrySerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"], url_path="acl/entries")
    def acl_entries(self, request, pk=None):
        data = self.body(s.AclEntryInputSerializer)
        entry = services.acl_entry_grant(
            principal=self.principal, intent_id=pk, principal_id=data["principal_id"],
            principal_type=data["principal_type"], permission=data["permission"], reason=data.get("reason"),
            expires_at=data.get("expires_at"),
        )
        return Response(acl_entry_dict(entry))

    @extend_schema(operation_id="intents_acl_entries_revoke", request=None, responses={204: OpenApiResponse(description="Revoked"), **errors(403, 404)})
    @action(detail=True, methods=["delete"], url_path=r"acl/entries/(?P<entry_id>[^/]+)")
    def acl_entry_revoke(self, request, pk=None, entry_id=None):
        services.acl_entry_revoke(principal=self.principal, intent_id=pk, entry_id=entry_id)
        return Response(status=204)

    @extend_schema(methods=["GET"], operation_id="intents_access_requests_list", responses={200: s.AccessRequestListSerializer, **errors(404)})
    @extend_schema(methods=["POST"], operation_id="intents_access_requests_create", request=s.AccessRequestInputSerializer, responses={200: s.AccessRequestSerializer, **errors(400, 404)})
    @action(detail=True, methods=["get", "post"], url_path="access-requests")
    def access_requests(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.AccessRequestInputSerializer)
            req = services.access_request_create(
                principal=self.principal, intent_id=pk, principal_id=data["principal_id"],
                principal_type=data["principal_type"], requested_permission=data["requested_permission"],
                reason=data.get("reason") or "", capabilities=data["capabilities"],
            )
            return Response(access_request_dict(req))
        items = services.access_request_list(principal=self.principal, intent_id=pk)
        return Response({"access_requests": [access_request_dict(r) for r in items]})

    @extend_schema(operation_id="intents_access_requests_approve", request=s.AccessApproveInputSerializer, responses={200: s.AccessRequestSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"], url_path=r"access-requests/(?P<request_id>[^/]+)/approve")
    def access_request_approve(self, request, pk=None, request_id=None):
        data = self.body(s.AccessApproveInputSerializer)
        req = services.access_request_approve(
            principal=self.principal, intent_id=pk, request_id=request_id, decided_by=data["decided_by"],
            permission=data.get("permission"), expires_at=data.get("expires_at"), reason=data.get("reason"),
        )
        return Response(access_request_dict(req))

    @extend_schema(operation_id="intents_access_requests_deny", request=s.AccessDenyInputSerializer, responses={200: s.AccessRequestSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"], url_path=r"access-requests/(?P<request_id>[^/]+)/deny")
    def access_request_deny(self, request, pk=None, request_id=None):
        data = self.body(s.AccessDenyInputSerializer)
        req = services.access_request_deny(
            principal=self.principal, intent_id=pk, request_id=request_id, decided_by=data["decided_by"],
            reason=data.get("reason"),
        )
        return Response(access_request_dict(req))

    # --- RFC-0003 arbitration and decisions (04) ---------------------------------------------

    @extend_schema(operation_id="intents_arbitrate", request=s.ArbitrateInputSerializer, responses={200: s.ArbitrationSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"])
    def arbitrate(self, request, pk=None):
        data = self.body(s.ArbitrateInputSerializer)
        arbitration = services.arbitration_request(
            principal=self.principal, intent_id=pk, reason=data["reason"], requested_by=data.get("requested_by"),
            context=data["context"], options=data.get("options"),
        )
        return Response(arbitration_dict(arbitration, message=True))

    @extend_schema(operation_id="intents_arbitration_list", responses={200: s.ArbitrationSerializer(many=True), **errors(403, 404)})
    @action(detail=True, methods=["get"])
    def arbitration(self, request, pk=None):
        return Response([arbitration_dict(a) for a in services.arbitration_list(principal=self.principal, intent_id=pk)])

    @extend_schema(methods=["GET"], operation_id="intents_decisions_list", parameters=[s.LimitQuerySerializer], responses={200: s.DecisionListSerializer, **errors(400, 403, 404)})
    @extend_schema(methods=["POST"], operation_id="intents_decisions_create", request=s.DecisionInputSerializer, responses={200: s.DecisionSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["get", "post"])
    def decisions(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.DecisionInputSerializer)
            rationale = data.get("rationale")
            if rationale is None:
                rationale = data.get("reasoning") or ""
            extra = {key: data[key] for key in ("evidence", "decision") if data.get(key) is not None}
            decision = services.decision_record(
                principal=self.principal, intent_id=pk, decision_type=data["decision_type"], outcome=data["outcome"],
                decided_by=data.get("decided_by"), rationale=rationale, arbitration_id=data.get("arbitration_id"),
                extra=extra,
            )
            return Response(decision_dict(decision, message=True))
        limit = self.query(s.LimitQuerySerializer)["limit"]
        decisions, records = services.decision_list(principal=self.principal, intent_id=pk, limit=limit)
        items = [decision_dict(d) for d in decisions] + [decision_record_as_decision(r) for r in records]
        items.sort(key=lambda item: item["created_at"], reverse=True)
        return Response({"decisions": items[:limit]})

    @extend_schema(operation_id="intents_coordinator_decisions_list", parameters=[s.LimitQuerySerializer], responses={200: s.DecisionRecordSerializer(many=True), **errors(400, 403, 404)})
    @action(detail=True, methods=["get"], url_path="coordinator-decisions")
    def coordinator_decisions(self, request, pk=None):
        limit = self.query(s.LimitQuerySerializer)["limit"]
        records = services.decision_record_list(principal=self.principal, intent_id=pk, limit=limit)
        return Response([decision_record_dict(r) for r in records])

    # --- RFC-0013 escalations and approvals ---------------------------------------------------

    @extend_schema(operation_id="intents_escalations_create", request=s.EscalationInputSerializer, responses={200: s.EscalationSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"])
    def escalations(self, request, pk=None):
        data = self.body(s.EscalationInputSerializer)
        esc = services.escalation_create(
            principal=self.principal, intent_id=pk, reason=data["reason"], priority=data["priority"],
            urgency=data["urgency"], context=data["context"], escalated_by=data.get("escalated_by"),
        )
        return Response(escalation_dict(esc))

    @extend_schema(operation_id="intents_approvals_create", request=s.ApprovalInputSerializer, responses={200: s.ApprovalSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["post"])
    def approvals(self, request, pk=None):
        data = self.body(s.ApprovalInputSerializer)
        approval = services.approval_request(
            principal=self.principal, intent_id=pk, action=data["action"], reason=data.get("reason") or "",
            context=data["context"], requested_by=data.get("requested_by"),
        )
        return Response(approval_dict(approval))

    @extend_schema(operation_id="intents_approvals_retrieve", responses={200: s.ApprovalSerializer, **errors(403, 404)})
    @action(detail=True, methods=["get"], url_path=r"approvals/(?P<approval_id>[^/]+)")
    def approval(self, request, pk=None, approval_id=None):
        return Response(approval_dict(services.approval_get(principal=self.principal, intent_id=pk, approval_id=approval_id)))

    def _decide(self, pk, approval_id, approve: bool) -> Response:
        notes = None
        if isinstance(self.request.data, dict) and self.request.data:
            notes = self.body(s.ApprovalDecideInputSerializer).get("notes")
        approval = services.approval_decide(
            principal=self.principal, intent_id=pk, approval_id=approval_id, approve=approve, notes=notes
        )
        return Response(approval_dict(approval))

    @extend_schema(operation_id="intents_approvals_approve", request=s.ApprovalDecideInputSerializer, responses={200: s.ApprovalSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path=r"approvals/(?P<approval_id>[^/]+)/approve")
    def approval_approve(self, request, pk=None, approval_id=None):
        return self._decide(pk, approval_id, True)

    @extend_schema(operation_id="intents_approvals_deny", request=s.ApprovalDecideInputSerializer, responses={200: s.ApprovalSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"], url_path=r"approvals/(?P<approval_id>[^/]+)/deny")
    def approval_deny(self, request, pk=None, approval_id=None):
        return self._decide(pk, approval_id, False)

    # --- RFC-0013 governance policy -------------------------------------------------------------

    @extend_schema(methods=["GET"], operation_id="intents_governance_retrieve", responses={200: s.GovernancePolicyResponseSerializer, **errors(403, 404)})
    @extend_schema(methods=["PUT"], operation_id="intents_governance_set", parameters=[IF_MATCH], request={"application/json": {"type": "object"}}, responses={200: IntentSerializer, **errors(400, 403, 404, 409)})
    @extend_schema(methods=["DELETE"], operation_id="intents_governance_remove", parameters=[IF_MATCH], request=None, responses={200: IntentSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["get", "put", "delete"])
    def governance(self, request, pk=None):
        if request.method == "GET":
            return Response(services.policy_get(principal=self.principal, intent_id=pk))
        if request.method == "PUT":
            from openintent_project.errors import InvalidInput

            body = request.data
            if not isinstance(body, dict):
                raise InvalidInput.at(("body",), "Input should be a valid dictionary", type="dict_type", input=body)
            version = expected_version(request)
            intent = services.policy_set(principal=self.principal, intent_id=pk, expected_version=version, policy=body)
            return _intent_response(intent)
        version = expected_version(request)
        return _intent_response(services.policy_remove(principal=self.principal, intent_id=pk, expected_version=version))

    # --- RFC-0013 coordinators on an intent ----------------------------------------------------

    @extend_schema(operation_id="intents_coordinators_list", responses={200: s.CoordinatorLeaseSerializer(many=True), **errors(403)})
    @action(detail=True, methods=["get"])
    def coordinators(self, request, pk=None):
        leases = services.coordinator_lease_list(principal=self.principal, intent_id=pk)
        return Response([coordinator_lease_dict(c) for c in leases])


class EscalationViewSet(ProtocolViewSet):
    @extend_schema(operation_id="escalations_list", parameters=[s.EscalationQuerySerializer], responses={200: s.EscalationListSerializer, **errors(400)})
    def list(self, request):
        query = self.query(s.EscalationQuerySerializer)
        items = services.escalation_list(principal=self.principal, intent_id=query.get("intent_id"), status=query.get("status"))
        return Response({"escalations": [escalation_dict(e) for e in items]})

    @extend_schema(operation_id="escalations_resolve", request=s.EscalationResolveInputSerializer, responses={200: s.EscalationSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        data = self.body(s.EscalationResolveInputSerializer)
        esc = services.escalation_resolve(
            principal=self.principal, escalation_id=pk, resolution=data["resolution"], notes=data.get("notes"),
            resolved_by=data.get("resolved_by"),
        )
        return Response(escalation_dict(esc))


class CoordinatorViewSet(ProtocolViewSet):
    @extend_schema(operation_id="coordinators_create", request=s.CoordinatorLeaseInputSerializer, responses={200: s.CoordinatorLeaseSerializer, **errors(400, 403, 404, 409)})
    def create(self, request):
        data = self.body(s.CoordinatorLeaseInputSerializer)
        lease = services.coordinator_lease_create(principal=self.principal, **data)
        return Response(coordinator_lease_dict(lease))

    @extend_schema(operation_id="coordinators_retrieve", responses={200: s.CoordinatorLeaseSerializer, **errors(403, 404)})
    def retrieve(self, request, pk=None):
        return Response(coordinator_lease_dict(services.coordinator_lease_get(principal=self.principal, lease_id=pk)))

    @extend_schema(operation_id="coordinators_heartbeat", request={"application/json": {"type": "object"}}, responses={200: s.HeartbeatSerializer, **errors(403, 404, 410)})
    @action(detail=True, methods=["post"])
    def heartbeat(self, request, pk=None):
        payload = request.data if isinstance(request.data, dict) and request.data else None
        return Response(services.coordinator_heartbeat(principal=self.principal, lease_id=pk, payload=payload))


class DecisionRecordViewSet(ProtocolViewSet):
    @extend_schema(operation_id="decision_records_create", request=s.DecisionRecordInputSerializer, responses={200: s.DecisionRecordSerializer, **errors(400, 403, 404)})
    def create(self, request):
        data = self.body(s.DecisionRecordInputSerializer)
        record = services.decision_record_create(principal=self.principal, **data)
        return Response(decision_record_dict(record))
