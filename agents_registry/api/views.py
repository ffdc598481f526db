"""RFC-0016 agent lifecycle and RFC-0015 memory routes. Views validate, call one service and
shape the answer."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from openintent_project.api.conditional import _parse, expected_version_428
from openintent_project.api.schema import ARRAY_OF_OBJECTS, errors
from openintent_project.api.viewsets import ProtocolViewSet

from .. import selectors, services, services_memory
from ..representations import agent_dict, memory_dict
from . import serializers as s

IF_MATCH_OPTIONAL = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False, description="The record version the change is based on.")
IF_MATCH_428 = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=True, description="The entry version (428 when missing).")


class AgentViewSet(ProtocolViewSet):
    @extend_schema(operation_id="agents_list", parameters=[s.AgentListQuerySerializer], responses={200: ARRAY_OF_OBJECTS, **errors(400)})
    def list(self, request):
        query = self.query(s.AgentListQuerySerializer)
        records = selectors.agent_list(
            statuses=[v for v in query.get("status", "").split(",") if v] or None,
            role_id=query.get("role_id"),
            capabilities=[v for v in query.get("capabilities", "").split(",") if v] or None,
            min_available_capacity=query.get("min_available_capacity"),
        )
        return Response([agent_dict(r) for r in records])

    @extend_schema(operation_id="agents_register", request=s.AgentRegisterInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 409)})
    @action(detail=False, methods=["post"])
    def register(self, request):
        data = self.body(s.AgentRegisterInputSerializer)
        return Response(agent_dict(services.agent_register(principal=self.principal, **data)))

    @extend_schema(operation_id="agents_create", request=s.AgentRegisterInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 409)})
    def create(self, request):
        """The RFC path (16 §6, MAY): an alias of ``register``."""
        data = self.body(s.AgentRegisterInputSerializer)
        return Response(agent_dict(services.agent_register(principal=self.principal, **data)))

    @extend_schema(operation_id="agents_retrieve", responses={200: OpenApiTypes.OBJECT, **errors(404)})
    def retrieve(self, request, pk=None):
        return Response(agent_dict(services.agent_get(pk)))

    @extend_schema(operation_id="agents_record_retrieve", responses={200: OpenApiTypes.OBJECT, **errors(404)})
    @action(detail=True, methods=["get"])
    def record(self, request, pk=None):
        return Response(agent_dict(services.agent_get(pk)))

    @extend_schema(operation_id="agents_heartbeat", request=s.HeartbeatInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 410)})
    @action(detail=True, methods=["post"])
    def heartbeat(self, request, pk=None):
        data = self.body(s.HeartbeatInputSerializer, data=request.data or {})
        return Response(services.agent_heartbeat(principal=self.principal, agent_id=pk, **data))

    @extend_schema(operation_id="agents_status_update", parameters=[IF_MATCH_OPTIONAL], request=s.AgentStatusInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["patch"], url_path="status")
    def set_status(self, request, pk=None):
        data = self.body(s.AgentStatusInputSerializer)
        header = request.META.get("HTTP_IF_MATCH")
        record = services.agent_set_status(
            principal=self.principal, agent_id=pk, expected_version=_parse(header) if header is not None else None, **data
        )
        return Response(agent_dict(record))

    @extend_schema(operation_id="agents_memory_list", parameters=[s.MemoryRecallQuerySerializer], responses={200: ARRAY_OF_OBJECTS, **errors(400)})
    @action(detail=True, methods=["get"])
    def memory(self, request, pk=None):
        query = self.query(s.MemoryRecallQuerySerializer)
        params = request.query_params
        entries = services_memory.memory_recall(
            principal=self.principal, agent_id=pk, namespace=query.get("namespace"), memory_type=query.get("memory_type"),
            tags=query.get("tags"), tags_any=query.get("tags_any"), key=query.get("key"),
            task_id=query.get("task_id") or params.get("scope.task_id"),
            intent_id=query.get("intent_id") or params.get("scope.intent_id"),
            pinned=query.get("pinned"), updated_after=query.get("updated_after"), updated_before=query.get("updated_before"),
            text=query.get("q"), limit=query["limit"], offset=query["offset"],
        )
        return Response([memory_dict(e) for e in entries])


class MemoryViewSet(ProtocolViewSet):
    @extend_schema(operation_id="memory_create", request=s.MemoryCreateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 409, 413, 429)})
    def create(self, request):
        data = self.body(s.MemoryCreateInputSerializer)
        return Response(memory_dict(services_memory.memory_create(principal=self.principal, **data)))

    @extend_schema(operation_id="memory_retrieve", responses={200: OpenApiTypes.OBJECT, **errors(403, 404)})
    def retrieve(self, request, pk=None):
        return Response(memory_dict(services_memory.memory_get(principal=self.principal, entry_id=pk)))

    @extend_schema(operation_id="memory_update", parameters=[IF_MATCH_428], request=s.MemoryUpdateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 409, 413, 428)})
    def partial_update(self, request, pk=None):
        data = self.body(s.MemoryUpdateInputSerializer)
        version = expected_version_428(request)
        entry = services_memory.memory_update(principal=self.principal, entry_id=pk, expected_version=version, **data)
        return Response(memory_dict(entry))

    @extend_schema(operation_id="memory_delete", responses={200: OpenApiTypes.OBJECT, **errors(403, 404)})
    def destroy(self, request, pk=None):
        entry_id = services_memory.memory_delete(principal=self.principal, entry_id=pk)
        return Response({"status": "deleted", "entry_id": entry_id})
