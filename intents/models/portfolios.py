"""Portfolios (RFC-0004 text, RFC-0007): groups of intents with aggregate status and a
governance policy (07)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class PortfolioStatus(models.TextChoices):
    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class MembershipRole(models.TextChoices):
    PRIMARY = "primary"
    MEMBER = "member"
    DEPENDENCY = "dependency"


class Portfolio(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=1000)
    description = models.TextField(blank=True, default="")
    created_by = models.CharField(max_length=200, db_index=True)
    # Any transition is allowed (07); only the value set is constrained.
    status = models.CharField(max_length=16, choices=PortfolioStatus.choices, default=PortfolioStatus.ACTIVE)
    governance_policy = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    intents = models.ManyToManyField(
        "intents.Intent", through="PortfolioMembership", related_name="portfolios"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class PortfolioMembership(models.Model):
    """One row per (portfolio, intent): a repeated add updates role and priority (07, FIX)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="memberships")
    intent = models.ForeignKey("intents.Intent", on_delete=models.CASCADE, related_name="portfolio_memberships")
    role = models.CharField(max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER)
    priority = models.IntegerField(default=0)
    added_at = models.DateTimeField(default=timezone.now)
    # The keys of the portfolio's shared_constraints this membership wrote into the intent's
    # constraints (keys the intent already had are never overwritten), so removal can undo
    # exactly what was inherited.
    inherited_constraints = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "intent"], name="portfolio_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.intent_id} in {self.portfolio_id}"
