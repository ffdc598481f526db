"""Production: PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); no dev keys; secure cookies."""

from .base import *  # noqa: F401,F403
from .base import env, require_secret_key

require_secret_key()
DEBUG = False
OPENINTENT_DEV_MODE = False
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
