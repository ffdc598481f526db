from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Access control (RFC-0011) and governance policy (RFC-0013) on every intent route.
        from intents import access

        from .services import check_permission, enforce, policy_validate, readable_intent_filter

        access.register(
            access=check_permission, policy=enforce, readable=readable_intent_filter, policy_validator=policy_validate,
        )
