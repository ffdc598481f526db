"""Factories for leases, costs, retry policies and failures."""

from datetime import timedelta

import factory
from django.utils import timezone

from intents.models import CostRecord, FailureRecord, Intent, Lease, RetryPolicy


class IntentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Intent

    title = factory.Sequence(lambda n: f"Intent {n}")
    created_by = "agent-owner"


class LeaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lease

    intent = factory.SubFactory(IntentFactory)
    agent_id = "agent-owner"
    scope = factory.Sequence(lambda n: f"scope-{n}")
    acquired_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.acquired_at + timedelta(seconds=300))


class CostRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostRecord

    intent = factory.SubFactory(IntentFactory)
    agent_id = "agent-owner"
    cost_type = "tokens"
    amount = 100.0
    unit = "tokens"


class RetryPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RetryPolicy

    intent = factory.SubFactory(IntentFactory)
    strategy = "exponential"


class FailureRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FailureRecord

    intent = factory.SubFactory(IntentFactory)
    agent_id = "agent-owner"
    error_code = "TIMEOUT"
    error_type = "TIMEOUT"
