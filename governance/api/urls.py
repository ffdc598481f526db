from rest_framework.routers import SimpleRouter

from .views import CoordinatorViewSet, DecisionRecordViewSet, EscalationViewSet, IntentGovernanceViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0011 ACLs and access requests; RFC-0003 arbitration/decisions; RFC-0013 escalations,
# approvals, governance policy and the intent's coordinators.
router.register("intents", IntentGovernanceViewSet, basename="intent-governance")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("coordinators", CoordinatorViewSet, basename="coordinator")
router.register("decisions", DecisionRecordViewSet, basename="decision-record")

urlpatterns = router.urls
