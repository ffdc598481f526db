from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AgentGrantsViewSet, CredentialViewSet, GrantViewSet, InvocationViewSet, ToolInvokeViewSet, VaultViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0014 vaults, credentials, grants, invocation log.
router.register("vaults", VaultViewSet, basename="vault")
router.register("credentials", CredentialViewSet, basename="credential")
router.register("grants", GrantViewSet, basename="grant")
router.register("invocations", InvocationViewSet, basename="invocation")

urlpatterns = [
    path("agents/<str:agent_id>/grants", AgentGrantsViewSet.as_view({"get": "list"}), name="agent-grants"),
    # RFC-0014 tool proxy.
    path("tools/invoke", ToolInvokeViewSet.as_view({"post": "create"}), name="tools-invoke"),
    *router.urls,
]
