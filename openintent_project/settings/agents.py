"""Settings of agents, memory and tasks (RFC-0012/0015/0016). Every value is read from the
environment so live-server tests (and operators) can shorten them."""

from __future__ import annotations

import environ

env = environ.Env()

# RFC-0016 health sweep period and default heartbeat config (16 §2, §4).
OPENINTENT_AGENT_SWEEP_SECONDS = env.float("OPENINTENT_AGENT_SWEEP_SECONDS", default=5.0)
OPENINTENT_HEARTBEAT_INTERVAL_SECONDS = env.int("OPENINTENT_HEARTBEAT_INTERVAL_SECONDS", default=30)
# Optional overrides of the derived thresholds (3× and 10× the interval when unset).
OPENINTENT_HEARTBEAT_UNHEALTHY_AFTER_SECONDS = env.int("OPENINTENT_HEARTBEAT_UNHEALTHY_AFTER_SECONDS", default=None)
OPENINTENT_HEARTBEAT_DEAD_AFTER_SECONDS = env.int("OPENINTENT_HEARTBEAT_DEAD_AFTER_SECONDS", default=None)
OPENINTENT_DRAIN_TIMEOUT_SECONDS = env.int("OPENINTENT_DRAIN_TIMEOUT_SECONDS", default=120)
# After this much silence of the sweep itself, silence is measured from its resumption (16 §4).
OPENINTENT_AGENT_SWEEP_RESUME_AFTER_SECONDS = env.float("OPENINTENT_AGENT_SWEEP_RESUME_AFTER_SECONDS", default=60.0)

# RFC-0015 memory (15 §4).
OPENINTENT_MEMORY_EXPIRY_SECONDS = env.float("OPENINTENT_MEMORY_EXPIRY_SECONDS", default=60.0)
OPENINTENT_MEMORY_CLEANUP_SECONDS = env.float("OPENINTENT_MEMORY_CLEANUP_SECONDS", default=300.0)
OPENINTENT_MEMORY_MAX_VALUE_BYTES = env.int("OPENINTENT_MEMORY_MAX_VALUE_BYTES", default=64 * 1024)
OPENINTENT_MEMORY_EPISODIC_CAPACITY = env.int("OPENINTENT_MEMORY_EPISODIC_CAPACITY", default=1000)

# RFC-0012 background jobs (12 §3).
OPENINTENT_TASK_TIMEOUT_SWEEP_SECONDS = env.float("OPENINTENT_TASK_TIMEOUT_SWEEP_SECONDS", default=15.0)
OPENINTENT_CHECKPOINT_TIMEOUT_SWEEP_SECONDS = env.float("OPENINTENT_CHECKPOINT_TIMEOUT_SWEEP_SECONDS", default=60.0)
# Semantic namespace permissions (15 §3): {"ns" or "prefix.*": {"default": "read", "allow": [{"agent": "a", "access": "write"}]}}.
OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS = env.json("OPENINTENT_MEMORY_NAMESPACE_PERMISSIONS", default={})
