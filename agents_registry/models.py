from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    """An API key created by an operator. Only a SHA-256 digest is stored: the key is high
    entropy, so a fast digest is enough, and it keeps authentication to one indexed lookup."""

    name = models.CharField(max_length=100, help_text="What or who this key is for.")
    principal = models.CharField(
        max_length=200,
        blank=True,
        help_text="Identity of callers using this key when they send no X-Agent-ID. "
        "Blank: 'key:<prefix>'.",
    )
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    is_operator = models.BooleanField(
        default=False, help_text="Operator keys may act for any agent (protocol README §2)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def identity(self) -> str:
        return self.principal or f"key:{self.prefix}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
