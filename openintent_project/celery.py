"""The one Celery app. Periodic jobs are registered in ``BEAT_SCHEDULE`` below; beat (with
django-celery-beat's database scheduler, so operators see them in the admin) is the only
scheduler in every mode."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openintent_project.settings.dev")

app = Celery("openintent")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_filesystem_broker_folders() -> None:
    """The embedded broker is a folder of message files; kombu expects it to exist."""
    from pathlib import Path

    from django.conf import settings

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


app.on_after_configure.connect(lambda sender, **kwargs: _ensure_filesystem_broker_folders(), weak=False)

# Apps whose ``schedule.py`` declares periodic jobs as ``BEAT_SCHEDULE = {name: {"task",
# "schedule"}}``. Periods come from settings so tests can shorten them. Beat (database
# scheduler) syncs these entries into django-celery-beat's tables, where operators see them.
LOCAL_APPS = ("intents", "governance", "agents_registry", "vaults", "triggers")


def collect_beat_schedule() -> dict[str, dict]:
    import importlib

    schedule: dict[str, dict] = {}
    for app_name in LOCAL_APPS:
        try:
            module = importlib.import_module(f"{app_name}.schedule")
        except ModuleNotFoundError as error:
            if error.name != f"{app_name}.schedule":
                raise
            continue
        schedule.update(module.BEAT_SCHEDULE)
    return schedule


@app.on_after_finalize.connect
def _install_beat_schedule(sender, **kwargs):
    sender.conf.beat_schedule = collect_beat_schedule()
