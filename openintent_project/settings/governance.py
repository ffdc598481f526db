"""Governance settings (RFC-0011 access control, RFC-0013 coordinator governance)."""

import environ

env = environ.Env()

# 11 §2: what an unlisted principal gets on an intent whose ACL is "open" (read or write).
ACL_OPEN_UNLISTED_PERMISSION = env.str("ACL_OPEN_UNLISTED_PERMISSION", default="read")
# Beat periods (seconds): ACL entry expiry (11 §4) and the coordinator liveness sweep (13 §1).
ACL_EXPIRY_SECONDS = env.float("ACL_EXPIRY_SECONDS", default=60.0)
COORDINATOR_SWEEP_SECONDS = env.float("COORDINATOR_SWEEP_SECONDS", default=10.0)
# Guardrail require_progress_every_minutes (13 §6): stall detection period.
GUARDRAIL_SWEEP_SECONDS = env.float("GUARDRAIL_SWEEP_SECONDS", default=60.0)
# Django group whose members (or users with governance.review_governance) use /review/.
ARBITRATOR_GROUP = env.str("ARBITRATOR_GROUP", default="arbitrators")
