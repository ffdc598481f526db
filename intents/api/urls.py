from rest_framework.routers import SimpleRouter

from .views import IntentViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0001 intents, events, agents; RFC-0002 graphs; RFC-0025 respond.
router.register("intents", IntentViewSet, basename="intent")

urlpatterns = router.urls
