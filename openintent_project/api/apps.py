from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "openintent_project.api"
    label = "openintent_api"
    verbose_name = "API layer"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)

        post_migrate.connect(enable_sqlite_wal, dispatch_uid="openintent-sqlite-wal")


def enable_sqlite_wal(using: str = "default", **kwargs) -> None:
    """WAL lets readers run beside the writer. The mode is stored in the database file, so
    setting it once after migrate serves every later connection of every process."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
