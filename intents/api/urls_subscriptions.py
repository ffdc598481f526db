from rest_framework.routers import SimpleRouter

from .subscriptions import SubscriptionViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0006 webhook subscriptions (SSE streams are Channels routes: openintent_project/routing.py).
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = router.urls
