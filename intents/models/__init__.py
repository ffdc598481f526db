"""Models of the intents app, one module per topic. Each topic module is imported here so
Django sees its models."""

from .core import Assignment, Dependency, Event, Intent, IntentStatus  # noqa: F401
from .streams import StreamFrame  # noqa: F401,E402
from .subscriptions import Delivery, DeliveryAttempt, DeliveryStatus, Subscription  # noqa: F401,E402
