from django.urls import path

from .attachments import AttachmentViewSet

# RFC-0005 attachments (05), nested under the intent.
urlpatterns = [
    path(
        "intents/<str:intent_id>/attachments",
        AttachmentViewSet.as_view({"get": "list", "post": "create"}),
        name="attachment-list",
    ),
    path(
        "intents/<str:intent_id>/attachments/<str:attachment_id>",
        AttachmentViewSet.as_view({"delete": "destroy"}),
        name="attachment-detail",
    ),
    path(
        "intents/<str:intent_id>/attachments/<str:attachment_id>/content",
        AttachmentViewSet.as_view({"get": "content"}),
        name="attachment-content",
    ),
]
