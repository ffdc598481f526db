"""Run by test_tick_race_postgres.py in a subprocess against a fresh PostgreSQL database:
several threads fire the same due tick at the same moment. Prints a JSON summary."""

from __future__ import annotations

import json
import sys
import threading
from datetime import timedelta

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from intents.models import Intent  # noqa: E402
from openintent_project.api.principal import Principal  # noqa: E402
from triggers import services  # noqa: E402
from triggers.models import Trigger, TriggerFire  # noqa: E402

THREADS = 6


def race(trigger_id, scheduled_for, *, without_lock: bool) -> list:
    barrier = threading.Barrier(THREADS)
    results: list = []

    def attempt():
        try:
            barrier.wait()
            results.append(services.schedule_fire_due(trigger_id=trigger_id, scheduled_for=scheduled_for))
        except Exception as error:  # noqa: BLE001
            results.append(repr(error))
        finally:
            connection.close()

    original = services._lock_for_tick
    if without_lock:
        # Every worker read the trigger as due before any committed (no row lock at all):
        # only the unique (trigger, tick) claim stands between them and duplicates.
        def unlocked(pk):
            trigger = Trigger.objects.filter(pk=pk).first()
            barrier_claim.wait()
            return trigger

        barrier_claim = threading.Barrier(THREADS)
        services._lock_for_tick = unlocked
    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    services._lock_for_tick = original
    return results


def main() -> None:
    call_command("migrate", verbosity=0)
    summary = {}
    for mode in ("locked", "without_lock"):
        trigger = services.trigger_create(
            principal=Principal(id="agent-owner", api_key="k"), name=mode, type="schedule",
            condition={"cron": "* * * * *"}, intent_template={"title": mode},
        )
        scheduled_for = timezone.now().replace(microsecond=0) - timedelta(seconds=2)
        Trigger.objects.filter(pk=trigger.pk).update(next_fire_at=scheduled_for)
        results = race(trigger.pk, scheduled_for, without_lock=mode == "without_lock")
        summary[mode] = {
            "errors": [r for r in results if isinstance(r, str)],
            "fired": sum(1 for r in results if r is not None and not isinstance(r, str) and r.claimed),
            "intents": Intent.objects.filter(title=mode).count(),
            "fires": TriggerFire.objects.filter(trigger_id=trigger.pk).count(),
            "fire_count": Trigger.objects.get(pk=trigger.pk).fire_count,
        }
    # Deduplication looks intents up by JSON keys of their state: check it on jsonb too.
    owner = Principal(id="agent-owner", api_key="k")
    skip = services.trigger_create(principal=owner, name="dedup", type="event", condition={"event": "x-none"},
                                   intent_template={"type": "pg-report", "title": "dedup"}, deduplication="skip")
    outcomes = [services.trigger_fire_manual(principal=owner, trigger_id=skip.pk).outcome for _ in range(2)]
    summary["dedup"] = {"outcomes": outcomes, "intents": Intent.objects.filter(title="dedup").count()}
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
