"""The embedded default: what `make run` uses. Dev API keys exist unless keys are configured."""

from .base import *  # noqa: F401,F403
from .base import SECRET_KEY as _SECRET_KEY
from .base import env

# DEBUG stays off unless asked for: it records every query in memory, which a long-running
# dev server (or a benchmark) cannot afford.
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _SECRET_KEY or "dev-insecure-secret-key-change-me"
OPENINTENT_DEV_MODE = True
