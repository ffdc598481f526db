"""Attachment content (RFC-0005, 05 "Content"): where the bytes go and how large they may be.

The bytes are written through Django's storage API (``default_storage``), so the backend is
a deployment choice: the local media directory by default, any ``django-storages`` backend
(S3, GCS, Azure, …) in production by naming it here."""

import environ

env = environ.Env()

# Largest attachment content accepted (base64 or multipart); larger uploads get 413 and
# nothing is stored. Default 25 MiB (05).
OPENINTENT_MAX_ATTACHMENT_BYTES = env.int("OPENINTENT_MAX_ATTACHMENT_BYTES", default=25 * 1024 * 1024)
# Folder (key prefix) inside the storage backend for attachment content.
OPENINTENT_ATTACHMENT_PREFIX = env.str("OPENINTENT_ATTACHMENT_PREFIX", default="attachments")

# The default storage backend and its options (a JSON object), e.g.
# OPENINTENT_STORAGE_BACKEND=storages.backends.s3.S3Storage
# OPENINTENT_STORAGE_OPTIONS='{"bucket_name": "openintent"}'
STORAGES = {
    "default": {
        "BACKEND": env.str("OPENINTENT_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"),
        "OPTIONS": env.json("OPENINTENT_STORAGE_OPTIONS", default={}),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
