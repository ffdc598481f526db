from django.urls import path
from rest_framework.routers import SimpleRouter

from .portfolios import IntentPortfolioViewSet, PortfolioViewSet

router = SimpleRouter(trailing_slash=False)
# RFC-0004/0007 portfolios and membership (07).
router.register("portfolios", PortfolioViewSet, basename="portfolio")

urlpatterns = [
    *router.urls,
    path("intents/<str:intent_id>/portfolios", IntentPortfolioViewSet.as_view({"get": "list"}), name="intent-portfolios"),
]
