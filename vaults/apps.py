from django.apps import AppConfig


class VaultsConfig(AppConfig):
    name = "vaults"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Production settings refuse to start without a vault key (14 §4.2).
        from .crypto import check_production_keys

        check_production_keys()
