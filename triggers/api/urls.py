from rest_framework.routers import SimpleRouter

from .views import TriggerViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0017 triggers.
router.register("triggers", TriggerViewSet, basename="trigger")

urlpatterns = router.urls
