from django.apps import AppConfig


class IntentsConfig(AppConfig):
    name = "intents"
    verbose_name = "Intents and event log"

    def ready(self) -> None:
        from .streams import receivers  # noqa: F401 - RFC-0006 frames, wake-ups, webhook outbox
