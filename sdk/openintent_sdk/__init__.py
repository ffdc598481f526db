"""A requests-based client and a small agent runtime for OpenIntent servers.

Imports no Django and not the official ``openintent`` package; needs only ``requests``.
"""

__version__ = "0.1.0"

from .client import Client, LeaseContext  # noqa: E402
from .errors import (  # noqa: E402
    AuthenticationError, ConflictError, ForbiddenError, GoneError, InvalidArgumentError, LeaseConflictError,
    MethodNotAllowedError, NotFoundError, OpenIntentError, PayloadTooLargeError, PreconditionRequiredError,
    RateLimitError, ServerError, ServiceUnavailableError, TransportError, UnprocessableError, ValidationError,
)
from .models import (  # noqa: E402
    ACL, AccessRequest, ACLEntry, AgentRecord, Approval, Arbitration, Assignment, Attachment, CoordinatorLease,
    CostRecord, Credential, Decision, DecisionRecord, Escalation, Event, Failure, Grant, Graph, Intent, IntentPage,
    Invocation, Lease, Membership, MemoryEntry, Plan, Portfolio, RetryPolicy, StreamEvent, Subscription, Task,
    ToolResult, Trigger, TriggerFire, Vault,
)
from .runtime import (  # noqa: E402
    Context, Worker, agent, on_assignment, on_complete, on_event, on_state_change,
)
from .streaming import EventStream  # noqa: E402

__all__ = [name for name in dir() if not name.startswith("_")]
