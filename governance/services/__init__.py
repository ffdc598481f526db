"""Governance services (RFC-0003 governance part, RFC-0011, RFC-0013). Every write path
(API, review screens, admin actions, Celery tasks) goes through these functions."""

from .access import (  # noqa: F401
    access_request_approve,
    access_request_create,
    access_request_deny,
    access_request_list,
    acl_entry_grant,
    acl_entry_revoke,
    acl_expire_due,
    acl_get,
    acl_set,
    check_permission,
    effective_permission,
    intent_for_read,
    readable_intent_filter,
)
from .coordinators import (  # noqa: F401
    coordinator_budget_check,
    current_coordinator_lease,
    coordinator_failover_for_agent,
    coordinator_heartbeat,
    coordinator_lease_create,
    coordinator_lease_get,
    coordinator_lease_list,
    coordinator_stall_sweep,
    coordinator_sweep,
)
from .policy import effective_policy, enforce, policy_get, policy_remove, policy_set, policy_validate  # noqa: F401
from .review import (  # noqa: F401
    approval_decide,
    approval_get,
    approval_request,
    arbitration_list,
    arbitration_request,
    decision_list,
    decision_record,
    decision_record_create,
    decision_record_list,
    escalation_create,
    escalation_list,
    escalation_resolve,
)
