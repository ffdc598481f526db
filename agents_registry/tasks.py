"""Celery tasks of the agent registry and memory: thin wrappers over the services."""

from celery import shared_task

from . import services, services_memory


@shared_task(name="agents_registry.tasks.agent_health_sweep_task", ignore_result=True)
def agent_health_sweep_task() -> dict:
    return services.agent_health_sweep()


@shared_task(name="agents_registry.tasks.memory_expiry_task", ignore_result=True)
def memory_expiry_task() -> int:
    return services_memory.memory_expiry_sweep()


@shared_task(name="agents_registry.tasks.memory_cleanup_task", ignore_result=True)
def memory_cleanup_task() -> int:
    return services_memory.memory_cleanup_sweep()


@shared_task(name="agents_registry.tasks.task_timeout_sweep_task", ignore_result=True)
def task_timeout_sweep_task() -> int:
    """RFC-0012 §3 task timeouts. Lives here, not in ``intents/tasks.py``, only so that the
    parallel branches do not all create that file; it calls the intents service."""
    from intents.services.tasks import task_timeout_sweep

    return task_timeout_sweep()


@shared_task(name="agents_registry.tasks.checkpoint_timeout_task", ignore_result=True)
def checkpoint_timeout_task() -> int:
    """RFC-0012 §3 checkpoint timeouts (see ``task_timeout_sweep_task`` for why it is here)."""
    from intents.services.tasks import checkpoint_timeout_sweep

    return checkpoint_timeout_sweep()
