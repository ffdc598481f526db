"""Models of the intents app, one module per topic. Each topic module is imported here so
Django sees its models."""

from .core import Assignment, Dependency, Event, Intent, IntentStatus  # noqa: F401
from .attachments import Attachment  # noqa: F401,E402
from .portfolios import MembershipRole, Portfolio, PortfolioMembership, PortfolioStatus  # noqa: F401,E402
from .leases import Lease  # noqa: F401
from .costs import CostRecord  # noqa: F401
from .retries import FailureRecord, FallbackHandoff, RetryPolicy  # noqa: F401
from .tasks import Plan, PlanStep, Task, TaskStatus  # noqa: F401,E402
from .streams import StreamFrame  # noqa: F401,E402
from .subscriptions import Delivery, DeliveryAttempt, DeliveryStatus, Subscription  # noqa: F401,E402
