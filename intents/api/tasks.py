"""RFC-0012 task and plan routes (protocol 12)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from openintent_project.api.conditional import expected_version_428
from openintent_project.api.fields import ObjectField, StrictCharField, StrictIntegerField, StringListField
from openintent_project.api.schema import ARRAY_OF_OBJECTS, IF_MATCH, errors
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import InvalidInput

from ..representations_tasks import plan_dict, task_dict
from ..services import tasks as services


class ToolRequirementSerializer(ProtocolSerializer):
    service = StrictCharField()
    scopes = StringListField(required=False, default=list)
    required = serializers.BooleanField(required=False, default=True)


class TaskCreateInputSerializer(ProtocolSerializer):
    intent_id = StrictCharField()
    name = StrictCharField(max_length=1000)
    plan_id = StrictCharField(required=False, allow_null=True, default=None)
    description = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None)
    parent_task_id = StrictCharField(required=False, allow_null=True, default=None)
    priority = StrictCharField(required=False, default="normal", max_length=100)
    input = ObjectField(required=False, default=dict)
    capabilities_required = StringListField(required=False, default=list)
    depends_on = StringListField(required=False, default=list)
    timeout_seconds = StrictIntegerField(required=False, allow_null=True, min_value=1, default=None)
    max_attempts = StrictIntegerField(required=False, min_value=1, default=3)
    permissions = StrictCharField(required=False, default="inherit", max_length=100)
    memory_policy = ObjectField(required=False, allow_null=True, default=None)
    requires_tools = ToolRequirementSerializer(many=True, required=False, default=list)
    metadata = ObjectField(required=False, default=dict)


class TaskUpdateInputSerializer(ProtocolSerializer):
    status = StrictCharField(required=False, allow_null=True)
    assigned_agent = StrictCharField(required=False, allow_null=True)
    output = ObjectField(required=False, allow_null=True)
    error = StrictCharField(required=False, allow_null=True, allow_blank=True)
    blocked_reason = StrictCharField(required=False, allow_null=True, allow_blank=True)


class TaskListQuerySerializer(ProtocolSerializer):
    status = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)


class PlanCreateInputSerializer(ProtocolSerializer):
    intent_id = StrictCharField()
    tasks = StringListField(required=False, default=list)
    checkpoints = serializers.ListField(child=ObjectField(), required=False, default=list)
    conditions = serializers.ListField(child=ObjectField(), required=False, default=list)
    on_failure = StrictCharField(required=False, default="pause_and_escalate")
    on_complete = StrictCharField(required=False, default="notify")
    metadata = ObjectField(required=False, default=dict)


class PlanUpdateInputSerializer(ProtocolSerializer):
    state = StrictCharField(required=False, allow_null=True)
    tasks = StringListField(required=False, allow_null=True)
    checkpoints = serializers.ListField(child=ObjectField(), required=False, allow_null=True)
    conditions = serializers.ListField(child=ObjectField(), required=False, allow_null=True)
    on_failure = StrictCharField(required=False, allow_null=True)
    on_complete = StrictCharField(required=False, allow_null=True)
    metadata = ObjectField(required=False, allow_null=True)
    reason = StrictCharField(required=False, allow_null=True)


class TaskViewSet(ProtocolViewSet):
    @extend_schema(operation_id="tasks_create", request=TaskCreateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404)})
    def create(self, request):
        data = dict(self.body(TaskCreateInputSerializer))
        data["requires_tools"] = [dict(t) for t in data["requires_tools"]]
        return Response(task_dict(services.task_create(principal=self.principal, **data)))

    @extend_schema(operation_id="tasks_retrieve", responses={200: OpenApiTypes.OBJECT, **errors(403, 404)})
    def retrieve(self, request, pk=None):
        return Response(task_dict(services.task_read(principal=self.principal, task_id=pk)))

    @extend_schema(operation_id="tasks_update", parameters=[IF_MATCH], request=TaskUpdateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 409, 428)})
    def partial_update(self, request, pk=None):
        data = self.body(TaskUpdateInputSerializer)
        version = expected_version_428(request)
        task = services.task_update(principal=self.principal, task_id=pk, expected_version=version, **data)
        return Response(task_dict(task))

    @extend_schema(operation_id="intents_tasks_list", parameters=[TaskListQuerySerializer], responses={200: ARRAY_OF_OBJECTS, **errors(400, 403)})
    def intent_tasks(self, request, intent_id=None):
        query = self.query(TaskListQuerySerializer)
        status = query.get("status")
        if status is not None and status not in services.TaskStatus.values:
            raise InvalidInput.at(("query", "status"), f"Input should be one of: {', '.join(services.TaskStatus.values)}", type="enum", input=status)
        tasks = services.task_list(principal=self.principal, intent_id=intent_id, status=status, limit=query["limit"], offset=query["offset"])
        return Response([task_dict(t) for t in tasks])


class PlanViewSet(ProtocolViewSet):
    @extend_schema(operation_id="plans_create", request=PlanCreateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404)})
    def create(self, request):
        data = self.body(PlanCreateInputSerializer)
        return Response(plan_dict(services.plan_create(principal=self.principal, **data)))

    @extend_schema(operation_id="plans_retrieve", responses={200: OpenApiTypes.OBJECT, **errors(403, 404)})
    def retrieve(self, request, pk=None):
        return Response(plan_dict(services.plan_read(principal=self.principal, plan_id=pk)))

    @extend_schema(operation_id="plans_update", parameters=[IF_MATCH], request=PlanUpdateInputSerializer, responses={200: OpenApiTypes.OBJECT, **errors(400, 403, 404, 409, 428)})
    def partial_update(self, request, pk=None):
        data = self.body(PlanUpdateInputSerializer)
        version = expected_version_428(request)
        plan = services.plan_update(principal=self.principal, plan_id=pk, expected_version=version, **data)
        return Response(plan_dict(plan))

    @extend_schema(operation_id="intents_plans_list", responses={200: ARRAY_OF_OBJECTS, **errors(403)})
    def intent_plans(self, request, intent_id=None):
        return Response([plan_dict(p) for p in services.plan_list(principal=self.principal, intent_id=intent_id)])
