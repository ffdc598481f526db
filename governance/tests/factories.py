import factory

from intents.models import Intent


class IntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intent

    title = factory.Sequence(lambda n: f"Intent {n}")
    created_by = "agent-owner"
