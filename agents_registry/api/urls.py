from rest_framework.routers import SimpleRouter

from .views import AgentViewSet, MemoryViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0016 agent registry and heartbeats; RFC-0015 memory (and recall under /agents/{id}/memory).
router.register("agents", AgentViewSet, basename="agent")
router.register("memory", MemoryViewSet, basename="memory")

urlpatterns = router.urls
