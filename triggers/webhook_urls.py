"""The public webhook receiver, outside ``/api/v1`` (17 §3)."""

from django.urls import re_path

from .api.views import WebhookReceiveView

urlpatterns = [re_path(r"^webhooks/(?P<path>.+)$", WebhookReceiveView.as_view(), name="trigger-webhook")]
