"""RFC-0014 routes (14 §2). Thin: validate → one service call → wire dict."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions as drf
from rest_framework.decorators import action
from rest_framework.response import Response

from openintent_project.api.exceptions import validation_items
from openintent_project.api.schema import errors
from openintent_project.api.viewsets import ProtocolViewSet as BaseProtocolViewSet
from openintent_project.errors import InvalidInput

from .. import services
from ..sanitize import sanitize
from ..representations import credential_dict, grant_dict, invocation_dict, vault_dict
from . import serializers as s


class ProtocolViewSet(BaseProtocolViewSet):
    """Validation errors echo the offending input (README §4); here that input may hold a
    secret, so it is echoed sanitised (``secret``, ``api_key``, ``password``… redacted)."""

    def body(self, serializer_class, **kwargs):
        try:
            return super().body(serializer_class, **kwargs)
        except drf.ValidationError as exc:
            raise InvalidInput(validation_items(exc.detail, sanitize(self.request.data))) from None


class VaultViewSet(ProtocolViewSet):
    @extend_schema(operation_id="vaults_create", request=s.VaultCreateInputSerializer, responses={200: s.VaultSerializer, **errors(400)})
    def create(self, request):
        data = self.body(s.VaultCreateInputSerializer)
        vault = services.vault_create(principal=self.principal, owner_id=data["owner_id"], name=data["name"])
        return Response(vault_dict(vault, credential_ids=[]))

    @extend_schema(operation_id="vaults_retrieve", responses={200: s.VaultSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        return Response(vault_dict(services.vault_get(pk)))


class CredentialViewSet(ProtocolViewSet):
    @extend_schema(operation_id="credentials_create", request=s.CredentialCreateInputSerializer, responses={200: s.CredentialSerializer, **errors(400, 404)})
    def create(self, request):
        data = self.body(s.CredentialCreateInputSerializer)
        credential = services.credential_create(principal=self.principal, **data)
        return Response(credential_dict(credential))

    @extend_schema(operation_id="credentials_retrieve", responses={200: s.CredentialSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        return Response(credential_dict(services.credential_get(pk)))

    @extend_schema(operation_id="credentials_revoke", responses={200: s.CredentialSerializer, **errors(404)})
    def destroy(self, request, pk=None):
        credential, _revoked = services.credential_revoke(principal=self.principal, credential_id=pk)
        return Response(credential_dict(credential))

    @extend_schema(operation_id="credentials_rotate", request=s.CredentialRotateInputSerializer, responses={200: s.CredentialSerializer, **errors(400, 404)})
    @action(detail=True, methods=["patch"])
    def rotate(self, request, pk=None):
        data = self.body(s.CredentialRotateInputSerializer)
        credential = services.credential_rotate_secret(principal=self.principal, credential_id=pk, secret=data["secret"])
        return Response(credential_dict(credential))


class GrantViewSet(ProtocolViewSet):
    @extend_schema(operation_id="grants_create", request=s.GrantCreateInputSerializer, responses={200: s.GrantSerializer, **errors(400, 404, 409)})
    def create(self, request):
        data = self.body(s.GrantCreateInputSerializer)
        grant = services.grant_create(principal=self.principal, **data)
        return Response(grant_dict(grant))

    @extend_schema(operation_id="grants_retrieve", responses={200: s.GrantSerializer, **errors(404)})
    def retrieve(self, request, pk=None):
        return Response(grant_dict(services.grant_get(pk)))

    @extend_schema(operation_id="grants_revoke", responses={200: s.GrantRevokedSerializer, **errors(404)})
    def destroy(self, request, pk=None):
        grant, _cascade = services.grant_revoke(principal=self.principal, grant_id=pk)
        return Response({"status": "revoked", "grant_id": str(grant.pk)})

    @extend_schema(operation_id="grants_delegate", request=s.GrantDelegateInputSerializer, responses={200: s.GrantSerializer, **errors(400, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def delegate(self, request, pk=None):
        data = self.body(s.GrantDelegateInputSerializer)
        return Response(grant_dict(services.grant_delegate(principal=self.principal, grant_id=pk, **data)))

    @extend_schema(operation_id="grants_suspend", request=None, responses={200: s.GrantSerializer, **errors(404, 409)})
    @action(detail=True, methods=["patch"])
    def suspend(self, request, pk=None):
        return Response(grant_dict(services.grant_set_suspended(principal=self.principal, grant_id=pk, suspended=True)))

    @extend_schema(operation_id="grants_resume", request=None, responses={200: s.GrantSerializer, **errors(404, 409)})
    @action(detail=True, methods=["patch"])
    def resume(self, request, pk=None):
        return Response(grant_dict(services.grant_set_suspended(principal=self.principal, grant_id=pk, suspended=False)))

    @extend_schema(operation_id="grants_invocations_list", parameters=[s.InvocationListQuerySerializer], responses={200: s.InvocationSerializer(many=True), **errors(400)})
    @action(detail=True, methods=["get"])
    def invocations(self, request, pk=None):
        query = self.query(s.InvocationListQuerySerializer)
        return Response([invocation_dict(i) for i in services.invocation_list(pk, limit=query["limit"])])


class AgentGrantsViewSet(ProtocolViewSet):
    @extend_schema(operation_id="agents_grants_list", parameters=[s.GrantListQuerySerializer], responses={200: s.GrantSerializer(many=True), **errors(400)})
    def list(self, request, agent_id=None):
        query = self.query(s.GrantListQuerySerializer)
        grants = services.grant_list_for_agent(agent_id, status=query.get("status"))
        return Response([grant_dict(g) for g in grants])


class InvocationViewSet(ProtocolViewSet):
    @extend_schema(operation_id="invocations_create", request=s.InvocationCreateInputSerializer, responses={200: s.InvocationSerializer, **errors(400, 404)})
    def create(self, request):
        data = self.body(s.InvocationCreateInputSerializer)
        invocation = services.invocation_record(principal=self.principal, **data)
        return Response(invocation_dict(invocation))


class ToolInvokeViewSet(ProtocolViewSet):
    @extend_schema(
        operation_id="tools_invoke", request=s.ToolInvokeInputSerializer,
        responses={200: s.ToolInvokeResultSerializer, **errors(400, 403, 429, 500, 502, 504)},
    )
    def create(self, request):
        data = self.body(s.ToolInvokeInputSerializer)
        return Response(services.tool_invoke(
            principal=self.principal, tool_name=data["tool_name"], agent_id=data["agent_id"],
            parameters=data["parameters"], idempotency_key=data["idempotency_key"],
            grant_id=data["grant_id"], context=data["context"] or {},
        ))
