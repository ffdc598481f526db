from django.apps import AppConfig


class AgentsRegistryConfig(AppConfig):
    name = "agents_registry"
    verbose_name = "Agents and API keys"
