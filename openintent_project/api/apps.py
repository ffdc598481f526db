from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "openintent_project.api"
    label = "openintent_api"
    verbose_name = "API layer"

    def ready(self) -> None:
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
