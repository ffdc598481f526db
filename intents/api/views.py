"""RFC-0001/0002/0025 routes on intents. Views validate, call one service, and shape the
answer; rules live in ``intents.services``."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from openintent_project.api.conditional import expected_version
from openintent_project.api.renderers import json_response
from openintent_project.api.schema import IF_MATCH, errors
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import InvalidInput, NotFound

from .. import access, selectors, services
from ..access import Permission
from ..patching import merge_to_patches
from ..representations import assignment_dict, event_dict, event_list_json, intent_dict, intent_list
from . import serializers as s


def intent_response(intent) -> HttpResponse:
    # RFC: successful updates return the new version in ETag (README §7, MAY).
    return json_response(intent_dict(intent), headers={"ETag": f'"{intent.version}"'})


class IntentViewSet(ProtocolViewSet):
    def _readable(self, pk, *, missing_ok: bool = False):
        """404 (unless ``missing_ok``), then the RFC-0011 read check (11 §2)."""
        try:
            intent = services.intent_get(pk)
        except NotFound:
            if missing_ok:
                return None
            raise
        access.require_permission(self.principal, intent, Permission.READ)
        return intent

    @extend_schema(operation_id="intents_list", parameters=[s.IntentListQuerySerializer], responses={200: s.IntentPageSerializer, **errors(400)})
    def list(self, request):
        query = self.query(s.IntentListQuerySerializer)
        intents, total = selectors.intent_list(
            status=query.get("status"), created_by=query.get("created_by"),
            parent_id=query.get("parent_id"), limit=query["limit"], offset=query["offset"],
            readable=access.readable_filter(self.principal),
        )
        return Response({"intents": intent_list(intents), "total": total, "limit": query["limit"], "offset": query["offset"]})

    @extend_schema(operation_id="intents_create", request=s.IntentCreateInputSerializer, responses={200: s.IntentSerializer, **errors(400, 404, 413)})
    def create(self, request):
        data = self.body(s.IntentCreateInputSerializer)
        intent = services.intent_create(
            principal=self.principal,
            title=data["title"],
            description=data["description"],
            created_by=data.get("created_by"),
            parent_id=data.get("parent_intent_id") or data.get("parent_id"),
            depends_on=data["depends_on"],
            constraints=data["constraints"],
            state=data["state"],
            status=data["status"],
            governance_policy=data["governance_policy"],
        )
        return intent_response(intent)

    @extend_schema(operation_id="intents_retrieve", responses={200: s.IntentSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        return intent_response(self._readable(pk))

    # --- state and status ---------------------------------------------------------------

    @extend_schema(operation_id="intents_state_patch", parameters=[IF_MATCH], request=s.StatePatchInputSerializer, responses={200: s.IntentSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def state(self, request, pk=None):
        data = self.body(s.StatePatchInputSerializer)
        version = expected_version(request)
        patches = data.get("patches") or merge_to_patches(data.get("state") or {})
        intent = services.intent_patch_state(
            principal=self.principal, intent_id=pk, expected_version=version, patches=patches
        )
        return intent_response(intent)

    @extend_schema(operation_id="intents_status_set", parameters=[IF_MATCH], request=s.StatusInputSerializer, responses={200: s.IntentSerializer, **errors(400, 403, 404, 409, 422)})
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        data = self.body(s.StatusInputSerializer)
        version = expected_version(request)
        intent = services.intent_set_status(
            principal=self.principal, intent_id=pk, expected_version=version,
            status=data["status"], reason=data.get("reason"),
        )
        return intent_response(intent)

    # --- events -------------------------------------------------------------------------

    @extend_schema(methods=["GET"], operation_id="intents_events_list", parameters=[s.EventListQuerySerializer], responses={200: s.EventSerializer(many=True), **errors(400)})
    @extend_schema(methods=["POST"], operation_id="intents_events_create", request=s.EventCreateInputSerializer, responses={200: s.EventSerializer, **errors(400, 404)})
    @action(detail=True, methods=["get", "post"])
    def events(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.EventCreateInputSerializer)
            event = services.event_append(
                principal=self.principal, intent_id=pk, event_type=data["event_type"], actor=data["actor"],
                payload=data["payload"], trace_id=data.get("trace_id"),
                parent_event_id=data.get("parent_event_id"),
            )
            return json_response(event_dict(event))
        query = self.query(s.EventListQuerySerializer)
        self._readable(pk, missing_ok=True)
        events = selectors.event_list(
            intent_id=pk, event_type=query.get("event_type"), since=query.get("since"),
            limit=query["limit"], offset=query["offset"],
        )
        return HttpResponse(event_list_json(events), content_type="application/json")

    # --- agents -------------------------------------------------------------------------

    @extend_schema(methods=["GET"], operation_id="intents_agents_list", responses={200: s.AssignmentSerializer(many=True), **errors()})
    @extend_schema(methods=["POST"], operation_id="intents_agents_assign", request=s.AssignInputSerializer, responses={200: s.AssignmentSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["get", "post"])
    def agents(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.AssignInputSerializer)
            assignment = services.agent_assign(
                principal=self.principal, intent_id=pk, agent_id=data["agent_id"], role=data["role"]
            )
            return Response(assignment_dict(assignment))
        self._readable(pk, missing_ok=True)
        return Response([assignment_dict(a) for a in selectors.assignment_list(intent_id=pk)])

    @extend_schema(operation_id="intents_agents_unassign", request=None, responses={204: OpenApiResponse(description="Unassigned"), **errors(404)})
    @action(detail=True, methods=["delete"], url_path=r"agents/(?P<agent_id>[^/]+)")
    def unassign(self, request, pk=None, agent_id=None):
        services.agent_unassign(principal=self.principal, intent_id=pk, agent_id=agent_id)
        return Response(status=204)

    # --- graph (RFC-0002) -------------------------------------------------------------

    @extend_schema(methods=["GET"], operation_id="intents_children_list", responses={200: s.wrapper("children"), **errors(404)})
    @extend_schema(methods=["POST"], operation_id="intents_children_create", request=s.ChildIntentCreateInputSerializer, responses={200: s.IntentSerializer, **errors(400, 404)})
    @action(detail=True, methods=["get", "post"])
    def children(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.ChildIntentCreateInputSerializer)
            child = services.child_intent_create(principal=self.principal, parent_id=pk, **data)
            return intent_response(child)
        self._readable(pk)
        return Response({"children": intent_list(selectors.children(pk))})

    @extend_schema(operation_id="intents_descendants_list", responses={200: s.wrapper("descendants"), **errors(404)})
    @action(detail=True, methods=["get"])
    def descendants(self, request, pk=None):
        self._readable(pk)
        return Response({"descendants": intent_list(selectors.descendants(pk))})

    @extend_schema(operation_id="intents_ancestors_list", responses={200: s.wrapper("ancestors"), **errors(404)})
    @action(detail=True, methods=["get"])
    def ancestors(self, request, pk=None):
        self._readable(pk)
        return Response({"ancestors": intent_list(selectors.ancestors(pk))})

    @extend_schema(methods=["GET"], operation_id="intents_dependencies_list", responses={200: s.wrapper("dependencies"), **errors(404)})
    @extend_schema(methods=["POST"], operation_id="intents_dependencies_add", parameters=[IF_MATCH], request=s.DependencyAddInputSerializer, responses={200: s.IntentSerializer, **errors(400, 404, 409)})
    @action(detail=True, methods=["get", "post"])
    def dependencies(self, request, pk=None):
        if request.method == "POST":
            data = self.body(s.DependencyAddInputSerializer)
            version = expected_version(request)
            intent = services.dependency_add(
                principal=self.principal, intent_id=pk, expected_version=version,
                dependency_id=data["dependency_id"],
            )
            return intent_response(intent)
        self._readable(pk)
        return Response({"dependencies": intent_list(selectors.dependencies(pk))})

    @extend_schema(operation_id="intents_dependencies_remove", parameters=[IF_MATCH], request=None, responses={200: s.IntentSerializer, **errors(400, 404, 409)})
    @action(detail=True, methods=["delete"], url_path=r"dependencies/(?P<dependency_id>[^/]+)")
    def remove_dependency(self, request, pk=None, dependency_id=None):
        version = expected_version(request)
        intent = services.dependency_remove(
            principal=self.principal, intent_id=pk, expected_version=version, dependency_id=dependency_id
        )
        return intent_response(intent)

    @extend_schema(operation_id="intents_dependents_list", responses={200: s.wrapper("dependents"), **errors(404)})
    @action(detail=True, methods=["get"])
    def dependents(self, request, pk=None):
        self._readable(pk)
        return Response({"dependents": intent_list(selectors.dependents(pk))})

    @extend_schema(operation_id="intents_ready_list", responses={200: s.wrapper("ready"), **errors(404)})
    @action(detail=True, methods=["get"])
    def ready(self, request, pk=None):
        self._readable(pk)
        ready, _ = selectors.ready_and_blocked(pk)
        return Response({"ready": intent_list(ready)})

    @extend_schema(operation_id="intents_blocked_list", responses={200: s.wrapper("blocked"), **errors(404)})
    @action(detail=True, methods=["get"])
    def blocked(self, request, pk=None):
        self._readable(pk)
        _, blocked = selectors.ready_and_blocked(pk)
        return Response({"blocked": intent_list(blocked)})

    @extend_schema(operation_id="intents_graph_retrieve", responses={200: s.GraphSerializer, **errors(404)})
    @action(detail=True, methods=["get"])
    def graph(self, request, pk=None):
        self._readable(pk)
        return Response(selectors.graph(pk))

    # --- RFC-0025 ------------------------------------------------------------------------

    @extend_schema(operation_id="intents_suspension_respond", request=s.SuspensionRespondInputSerializer, responses={200: s.SuspensionResponseSerializer, **errors(400, 404, 409, 422)})
    @action(detail=True, methods=["post"], url_path="suspend/respond")
    def respond(self, request, pk=None):
        data = self.body(s.SuspensionRespondInputSerializer)
        suspension_id = data.get("suspension_id")
        # Checked before the intent lookup, as REF does (01).
        if not isinstance(suspension_id, str) or not suspension_id:
            raise InvalidInput.at(("body", "suspension_id"), "suspension_id is required", type="missing", input=suspension_id, message="suspension_id is required")
        result = services.suspension_respond(
            principal=self.principal, intent_id=pk, suspension_id=suspension_id,
            value=data.get("value"), responded_by=data.get("responded_by"), metadata=data.get("metadata"),
        )
        return Response(result)
