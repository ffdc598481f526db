"""Wire shapes of agent records (16 §1) and memory entries (15 §1), built by hand."""

from __future__ import annotations

from openintent_project.api.timestamps import format_timestamp as ts

from .models import AgentRecord, MemoryEntry


def agent_dict(record: AgentRecord) -> dict:
    return {
        "agent_id": record.agent_id,
        "status": record.status,
        "role_id": record.role_id,
        "name": record.name,
        "capabilities": record.capabilities,
        "capacity": record.capacity,
        "endpoint": record.endpoint,
        "heartbeat_config": record.heartbeat_config or None,
        # FIX (16 §1): REF says agent_metadata, the SDK reads metadata: both.
        "metadata": record.metadata,
        "agent_metadata": record.metadata,
        "registered_at": ts(record.registered_at),
        "last_heartbeat_at": ts(record.last_heartbeat_at),
        "drain_timeout_seconds": record.drain_timeout_seconds,
        "drain_started_at": ts(record.drain_started_at),
        "version": record.version,
    }


def memory_dict(entry: MemoryEntry) -> dict:
    return {
        "id": str(entry.id),
        "agent_id": entry.agent_id,
        "namespace": entry.namespace,
        "key": entry.key,
        "value": entry.value,
        "memory_type": entry.memory_type,
        "version": entry.version,
        "scope": entry.scope,
        "tags": entry.tags,
        "ttl": entry.ttl,
        "pinned": entry.pinned,
        "priority": entry.priority,
        "sensitivity": entry.sensitivity,
        "curated_by": entry.curated_by,
        "created_at": ts(entry.created_at),
        "updated_at": ts(entry.updated_at),
        "expires_at": ts(entry.expires_at),
    }
