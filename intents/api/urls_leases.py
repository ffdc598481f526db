from django.urls import path
from rest_framework.routers import SimpleRouter

from .leases import CostViewSet, FailureViewSet, LeaseViewSet, RetryPolicyViewSet

INTENT = r"intents/(?P<intent_id>[^/]+)"

router = SimpleRouter(trailing_slash=False)
# RFC-0003 leasing: scope leases.
router.register(rf"{INTENT}/leases", LeaseViewSet, basename="intent-lease")
# RFC-0009 costs.
router.register(rf"{INTENT}/costs", CostViewSet, basename="intent-cost")
# RFC-0010 failures.
router.register(rf"{INTENT}/failures", FailureViewSet, basename="intent-failure")

urlpatterns = [
    # RFC-0010 retry policy: one per intent, GET and PUT on the same path.
    path(
        "intents/<str:intent_id>/retry-policy",
        RetryPolicyViewSet.as_view({"get": "list", "put": "put"}),
        name="intent-retry-policy",
    ),
    *router.urls,
]
