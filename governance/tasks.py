"""Celery tasks of the governance app: thin wrappers over the services."""

from celery import shared_task

from . import services


@shared_task(name="governance.tasks.acl_expiry_task", ignore_result=True)
def acl_expiry_task() -> int:
    return services.acl_expire_due()


@shared_task(name="governance.tasks.coordinator_sweep_task", ignore_result=True)
def coordinator_sweep_task() -> int:
    return services.coordinator_sweep()


@shared_task(name="governance.tasks.coordinator_stall_task", ignore_result=True)
def coordinator_stall_task() -> int:
    return services.coordinator_stall_sweep()
