"""The arbitrators' review screens, mounted at /review/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="governance/login.html",
                                                 redirect_authenticated_user=False, next_page="governance:queue"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="governance:login"), name="logout"),
    path("", views.queue, name="queue"),
    path("queue.json", views.queue_json, name="queue-json"),
    path("bulk", views.bulk, name="bulk"),
    path("<str:kind>/<str:item_id>/", views.detail, name="detail"),
    path("<str:kind>/<str:item_id>/decide", views.decide, name="decide"),
]
