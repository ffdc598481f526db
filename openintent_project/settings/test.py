"""Unit-test settings: in-process, eager Celery, in-memory layers, fast hashing.

Live-server tests start real processes with the dev settings and their own database instead.
"""

from .base import *  # noqa: F401,F403

SECRET_KEY = "test-secret-key"
DEBUG = False
OPENINTENT_DEV_MODE = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "TEST": {"NAME": ":memory:"},
    }
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OPENINTENT_OPERATOR_KEYS = ["operator-key"]
OPENINTENT_API_KEYS = []
