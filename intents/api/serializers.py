"""Input validation (shape only; rules that need the database live in services) and the
documented output shapes used by the OpenAPI document."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from openintent_project.api.fields import (
    AnyJSONField,
    ObjectField,
    StrictCharField,
    StringListField,
)
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.timestamps import parse_timestamp

from ..models import IntentStatus

# --- inputs ---------------------------------------------------------------------------


class IntentCreateInputSerializer(ProtocolSerializer):
    title = StrictCharField(max_length=1000)
    description = StrictCharField(required=False, allow_blank=True, default="")
    created_by = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=200)
    parent_intent_id = StrictCharField(required=False, allow_null=True)
    parent_id = StrictCharField(required=False, allow_null=True)
    depends_on = StringListField(required=False, default=list)
    constraints = ObjectField(required=False, default=dict)
    state = ObjectField(required=False, default=dict)
    status = StrictCharField(required=False, default=IntentStatus.DRAFT)
    governance_policy = ObjectField(required=False, allow_null=True, default=None)


class ChildIntentCreateInputSerializer(ProtocolSerializer):
    title = StrictCharField(max_length=1000)
    description = StrictCharField(required=False, allow_blank=True, default="")
    depends_on = StringListField(required=False, default=list)
    constraints = ObjectField(required=False, default=dict)
    state = ObjectField(required=False, default=dict)


class IntentListQuerySerializer(ProtocolSerializer):
    status = serializers.ChoiceField(choices=IntentStatus.values, required=False)
    created_by = serializers.CharField(required=False)
    parent_id = serializers.CharField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    offset = serializers.IntegerField(min_value=0, default=0)


class PatchOperationSerializer(ProtocolSerializer):
    op = StrictCharField()
    path = StrictCharField(allow_blank=True)
    value = AnyJSONField(default=None)


class StatePatchInputSerializer(ProtocolSerializer):
    patches = PatchOperationSerializer(many=True, required=False, allow_null=True)
    state = ObjectField(required=False, allow_null=True)


class StatusInputSerializer(ProtocolSerializer):
    status = StrictCharField()
    reason = StrictCharField(required=False, allow_null=True, allow_blank=True)


class EventCreateInputSerializer(ProtocolSerializer):
    event_type = StrictCharField(max_length=100)
    actor = StrictCharField(max_length=200)
    payload = ObjectField(required=False, default=dict)
    trace_id = StrictCharField(required=False, allow_null=True, max_length=200)
    parent_event_id = StrictCharField(required=False, allow_null=True, max_length=200)


class EventListQuerySerializer(ProtocolSerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
    offset = serializers.IntegerField(min_value=0, default=0)
    event_type = serializers.CharField(required=False)
    since = serializers.CharField(required=False)

    def validate_since(self, value: str):
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise serializers.ValidationError("Input should be a valid datetime") from exc


class AssignInputSerializer(ProtocolSerializer):
    agent_id = StrictCharField(max_length=200)
    role = StrictCharField(required=False, default="worker", max_length=100)


class DependencyAddInputSerializer(ProtocolSerializer):
    dependency_id = StrictCharField(max_length=64)


class SuspensionRespondInputSerializer(ProtocolSerializer):
    suspension_id = serializers.JSONField(required=False)
    value = AnyJSONField(default=None)
    responded_by = StrictCharField(required=False, allow_null=True, max_length=200)
    metadata = ObjectField(required=False, allow_null=True, default=None)


# --- documented outputs ------------------------------------------------------------------


class IntentSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    created_by = serializers.CharField()
    parent_id = serializers.UUIDField(allow_null=True)
    parent_intent_id = serializers.UUIDField(allow_null=True)
    depends_on = serializers.ListField(child=serializers.CharField())
    constraints = serializers.DictField()
    state = serializers.DictField()
    status = serializers.ChoiceField(choices=IntentStatus.values)
    confidence = serializers.FloatField()
    version = serializers.IntegerField()
    governance_policy = serializers.DictField(allow_null=True)
    created_at = serializers.CharField(help_text="Naive UTC ISO 8601")
    updated_at = serializers.CharField(help_text="Naive UTC ISO 8601")


# many=False: `list` actions are documented as arrays by default, but this page is one object.
@extend_schema_serializer(many=False)
class IntentPageSerializer(ProtocolSerializer):
    intents = IntentSerializer(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class EventSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    event_type = serializers.CharField()
    actor = serializers.CharField()
    payload = serializers.DictField()
    created_at = serializers.CharField()
    sequence = serializers.IntegerField()
    trace_id = serializers.CharField(required=False)
    parent_event_id = serializers.CharField(required=False)


class AssignmentSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    agent_id = serializers.CharField()
    role = serializers.CharField()
    assigned_at = serializers.CharField()


def wrapper(name: str) -> type[ProtocolSerializer]:
    """``{"<name>": [intent, …]}``: the graph list routes answer objects, not arrays (02)."""
    return type(
        f"{name.title()}ListSerializer",
        (ProtocolSerializer,),
        {name: IntentSerializer(many=True)},
    )


class GraphNodeSerializer(ProtocolSerializer):
    id = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)
    depends_on = serializers.ListField(child=serializers.CharField())


class GraphEdgeSerializer(ProtocolSerializer):
    # "from" is a keyword, so the fields are declared through a dict below.
    to = serializers.CharField()
    type = serializers.ChoiceField(choices=["parent", "dependency"])


GraphEdgeSerializer._declared_fields["from"] = serializers.CharField()


class AggregateStatusSerializer(ProtocolSerializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())
    completion_percentage = serializers.IntegerField()


class GraphSerializer(ProtocolSerializer):
    root_id = serializers.CharField()
    nodes = GraphNodeSerializer(many=True)
    edges = GraphEdgeSerializer(many=True)
    aggregate_status = AggregateStatusSerializer()


class SuspensionResponseSerializer(ProtocolSerializer):
    intent_id = serializers.CharField()
    suspension_id = serializers.CharField()
    resolution = serializers.CharField()
    value = serializers.JSONField(allow_null=True)
    responded_by = serializers.CharField()
    responded_at = serializers.CharField()
    choice_label = serializers.CharField(required=False)
    choice_description = serializers.CharField(required=False)
