"""RFC-0007 portfolio routes (07). Views validate, call one service and shape the answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from openintent_project.api.fields import ObjectField, StrictCharField, StrictIntegerField
from openintent_project.api.schema import MessageSerializer, errors
from openintent_project.api.serializers import ProtocolSerializer
from openintent_project.api.viewsets import ProtocolViewSet
from openintent_project.errors import Forbidden

from .. import access, selectors_portfolios as selectors
from ..access import Permission
from ..models import MembershipRole, PortfolioStatus
from ..representations import intent_list
from ..representations_portfolios import membership_dict, portfolio_dict
from ..services import portfolios as service
from .serializers import AggregateStatusSerializer, IntentSerializer

# --- input ---------------------------------------------------------------------------------


class PortfolioCreateInputSerializer(ProtocolSerializer):
    name = StrictCharField(max_length=1000)
    description = StrictCharField(required=False, allow_null=True, allow_blank=True, default="")
    created_by = StrictCharField(max_length=200)
    governance_policy = ObjectField(required=False, allow_null=True, default=None)
    metadata = ObjectField(required=False, allow_null=True, default=None)


class PortfolioListQuerySerializer(ProtocolSerializer):
    created_by = serializers.CharField(required=False, allow_blank=True)


class PortfolioStatusInputSerializer(ProtocolSerializer):
    status = StrictCharField(help_text=" | ".join(PortfolioStatus.values))


class MembershipInputSerializer(ProtocolSerializer):
    intent_id = StrictCharField(max_length=64)
    role = StrictCharField(required=False, default=MembershipRole.MEMBER, help_text=" | ".join(MembershipRole.values))
    # The column is a signed 32-bit integer on every database.
    priority = StrictIntegerField(required=False, default=0, min_value=-(2**31), max_value=2**31 - 1)


# --- documented output ------------------------------------------------------------------------


class PortfolioAggregateSerializer(AggregateStatusSerializer):
    has_suspended_members = serializers.BooleanField()
    suspended_member_count = serializers.IntegerField()


class PortfolioSerializer(ProtocolSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_by = serializers.CharField()
    status = serializers.ChoiceField(choices=PortfolioStatus.values)
    governance_policy = serializers.DictField()
    metadata = serializers.DictField()
    created_at = serializers.CharField()
    updated_at = serializers.CharField()
    aggregate_status = PortfolioAggregateSerializer()
    has_suspended_members = serializers.BooleanField()
    suspended_member_count = serializers.IntegerField()
    intents = IntentSerializer(many=True, required=False, help_text="On GET /portfolios/{id} only")


class MembershipSerializer(ProtocolSerializer):
    message = serializers.CharField()
    membership_id = serializers.UUIDField()
    id = serializers.UUIDField()
    portfolio_id = serializers.UUIDField()
    intent_id = serializers.UUIDField()
    role = serializers.ChoiceField(choices=MembershipRole.values)
    priority = serializers.IntegerField()
    added_at = serializers.CharField()


# --- views ------------------------------------------------------------------------------------


def readable(principal, intents) -> list:
    """Lists that span intents leave out those the caller cannot read (11 §2)."""
    visible = []
    for intent in intents:
        try:
            access.require_permission(principal, intent, Permission.READ)
        except Forbidden:
            continue
        visible.append(intent)
    return visible


class PortfolioViewSet(ProtocolViewSet):
    @extend_schema(operation_id="portfolios_list", parameters=[PortfolioListQuerySerializer], responses={200: PortfolioSerializer(many=True), **errors(400)})
    def list(self, request):
        query = self.query(PortfolioListQuerySerializer)
        portfolios = selectors.portfolio_list(created_by=query.get("created_by"))
        return Response([portfolio_dict(p) for p in portfolios])

    @extend_schema(operation_id="portfolios_create", request=PortfolioCreateInputSerializer, responses={200: PortfolioSerializer, **errors(400)})
    def create(self, request):
        data = self.body(PortfolioCreateInputSerializer)
        portfolio = service.portfolio_create(principal=self.principal, **data)
        return Response(portfolio_dict(portfolio))

    @extend_schema(operation_id="portfolios_retrieve", responses={200: PortfolioSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        portfolio = selectors.with_aggregates([service.portfolio_get(pk)])[0]
        data = portfolio_dict(portfolio)
        data["intents"] = intent_list(readable(self.principal, selectors.portfolio_member_intents(portfolio.pk)))
        return Response(data)

    @extend_schema(operation_id="portfolios_status_update", request=PortfolioStatusInputSerializer, responses={200: PortfolioSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["patch"])
    def status(self, request, pk=None):
        data = self.body(PortfolioStatusInputSerializer)
        portfolio = service.portfolio_set_status(principal=self.principal, portfolio_id=pk, status=data["status"])
        return Response(portfolio_dict(selectors.with_aggregates([portfolio])[0]))

    @extend_schema(methods=["GET"], operation_id="portfolios_intents_list", responses={200: IntentSerializer(many=True), **errors()})
    @extend_schema(methods=["POST"], operation_id="portfolios_intents_add", request=MembershipInputSerializer, responses={200: MembershipSerializer, **errors(400, 403, 404)})
    @action(detail=True, methods=["get", "post"])
    def intents(self, request, pk=None):
        if request.method == "POST":
            data = self.body(MembershipInputSerializer)
            membership = service.portfolio_add_intent(principal=self.principal, portfolio_id=pk, **data)
            return Response(membership_dict(membership))
        return Response(intent_list(readable(self.principal, selectors.portfolio_member_intents(pk))))

    @extend_schema(operation_id="portfolios_intents_remove", request=None, responses={200: MessageSerializer, **errors(403, 404)})
    @action(detail=True, methods=["delete"], url_path=r"intents/(?P<intent_id>[^/]+)")
    def remove_intent(self, request, pk=None, intent_id=None):
        service.portfolio_remove_intent(principal=self.principal, portfolio_id=pk, intent_id=intent_id)
        return Response({"message": "Intent removed from portfolio"})


class IntentPortfolioViewSet(ProtocolViewSet):
    @extend_schema(operation_id="intents_portfolios_list", responses={200: PortfolioSerializer(many=True), **errors()})
    def list(self, request, intent_id=None):
        return Response([portfolio_dict(p) for p in selectors.intent_portfolios(intent_id)])
