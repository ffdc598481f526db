from django.urls import path
from rest_framework.routers import SimpleRouter

from .tasks import PlanViewSet, TaskViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0012 tasks and plans.
router.register("tasks", TaskViewSet, basename="task")
router.register("plans", PlanViewSet, basename="plan")

urlpatterns = [
    path("intents/<str:intent_id>/tasks", TaskViewSet.as_view({"get": "intent_tasks"}), name="intent-tasks"),
    path("intents/<str:intent_id>/plans", PlanViewSet.as_view({"get": "intent_plans"}), name="intent-plans"),
    *router.urls,
]
