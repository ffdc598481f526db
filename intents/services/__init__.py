"""Every write of the intents app, one module per topic (``services/<topic>.py``).

Import services from their topic module (``from intents.services.core import intent_create``)
or from here for the core ones."""

from .core import *  # noqa: F401,F403
from .core import INTENT_NOT_FOUND, _as_uuid, intent_get, intent_lock  # noqa: F401
