"""Cost records (RFC-0009, 09) and the cost summary, LLM token usage included (08)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Sum

from openintent_project.api.principal import Principal

from .. import access
from ..access import Permission
from ..llm import LLM_REQUEST_COMPLETED, TOKEN_KEYS
from ..models import CostRecord, Event, Intent
from .core import _as_uuid, governed, intent_lock

UNSPECIFIED = "unspecified"


@governed
def cost_record(
    *,
    principal: Principal,
    intent_id: Any,
    cost_type: str,
    amount: float,
    unit: str,
    agent_id: str | None = None,
    provider: str | None = None,
    metadata: dict | None = None,
) -> CostRecord:
    """Append a cost record. ``agent_id`` defaults to the principal (09 FIX).

    The intent row is locked before the sum, so two concurrent records cannot together pass
    ``max_cost`` (09, "Concurrency"). The governance policy (``max_cost``, ``write_scope``,
    ``allowed_agents``; rule in the governance app) sees the amount and the total before it;
    a rejection rolls back and its ``governance.violation`` event survives (``@governed``)."""
    intent = intent_lock(intent_id)
    access.require_permission(principal, intent, Permission.WRITE)
    current_total = CostRecord.objects.filter(intent=intent).aggregate(total=Sum("amount"))["total"] or 0.0
    access.enforce_policy(principal, intent, "cost", amount=amount, unit=unit, current_total=float(current_total))
    record = CostRecord.objects.create(
        intent=intent,
        agent_id=agent_id or principal.id,
        cost_type=cost_type,
        amount=amount,
        unit=unit,
        provider=provider,
        metadata=metadata or {},
    )
    if unit.upper() == "USD":
        # The coordinator's max_budget_usd guardrail (13 §6) acts after the cost is kept.
        from governance.services.coordinators import coordinator_budget_check

        previous = CostRecord.objects.filter(intent=intent, unit__iexact="usd").exclude(pk=record.pk).aggregate(total=Sum("amount"))["total"] or 0.0
        coordinator_budget_check(intent=intent, previous_usd_total=float(previous), new_usd_total=float(previous) + amount)
    return record


def cost_list(*, principal: Principal, intent_id: Any) -> list[CostRecord]:
    """Insertion order; an unknown intent has none (09)."""
    intent = _intent_or_none(intent_id)
    if intent is None:
        return []
    access.require_permission(principal, intent, Permission.READ)
    return list(CostRecord.objects.filter(intent=intent).order_by("recorded_at", "id"))


def _intent_or_none(intent_id: Any) -> Intent | None:
    pk = _as_uuid(intent_id)
    return Intent.objects.filter(pk=pk).first() if pk else None


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


def _round(value: float) -> float:
    return float(round(value, 10))


def cost_summary(*, intent_id: Any, costs: list[CostRecord]) -> dict:
    """The RFC-0009 summary (09, MAY ``?summary=true``): ``total`` of every amount (all units,
    as ``max_cost`` counts them), sums ``by_type``, ``by_agent``, ``by_provider``, ``by_unit``,
    and LLM token usage (08):

    - ``llm.recorded``: token counts from cost records whose metadata carries them (the
      RFC-0008 budget link: ``{model, prompt_tokens, completion_tokens, total_tokens}``),
      by model;
    - ``llm.logged``: token counts from ``llm_request_completed`` events the SDK adapters
      log, by provider/model (usage only — these are not cost records and not in ``total``).
    """
    by_type: dict[str, float] = defaultdict(float)
    by_agent: dict[str, float] = defaultdict(float)
    by_provider: dict[str, float] = defaultdict(float)
    by_unit: dict[str, float] = defaultdict(float)
    total = 0.0
    recorded = _token_bucket()
    recorded_by_model: dict[str, dict] = defaultdict(_token_bucket)
    for cost in costs:
        amount = float(cost.amount)
        total += amount
        by_type[cost.cost_type] += amount
        by_agent[cost.agent_id] += amount
        by_provider[cost.provider or UNSPECIFIED] += amount
        by_unit[cost.unit] += amount
        meta = cost.metadata if isinstance(cost.metadata, dict) else {}
        tokens = {key: _number(meta.get(key)) for key in TOKEN_KEYS}
        if not any(v is not None for v in tokens.values()):
            continue
        model = meta.get("model") if isinstance(meta.get("model"), str) else UNSPECIFIED
        for bucket in (recorded, recorded_by_model[model]):
            bucket["records"] += 1
            for key, value in tokens.items():
                bucket[key] += value or 0
    return {
        "total": _round(total),
        "count": len(costs),
        "by_type": {k: _round(v) for k, v in by_type.items()},
        "by_agent": {k: _round(v) for k, v in by_agent.items()},
        "by_provider": {k: _round(v) for k, v in by_provider.items()},
        "by_unit": {k: _round(v) for k, v in by_unit.items()},
        "llm": {
            "recorded": {**recorded, "by_model": dict(recorded_by_model)},
            "logged": _logged_llm_usage(intent_id),
        },
    }


def _token_bucket() -> dict:
    return {"records": 0, **{key: 0 for key in TOKEN_KEYS}}


def _logged_llm_usage(intent_id: Any) -> dict:
    """Token counts of the intent's ``llm_request_completed`` events. The event route
    validates these keys as non-negative integers (``intents.llm``), so the sums are safe;
    only the few payload keys needed are read, never ``response_content``."""
    pk = _as_uuid(intent_id)
    rows = (
        Event.objects.filter(intent_id=pk, event_type=LLM_REQUEST_COMPLETED)
        .values_list(*(f"payload__{key}" for key in ("provider", "model", *TOKEN_KEYS)))
        if pk else []
    )
    usage = {"requests": 0, **{key: 0 for key in TOKEN_KEYS}}
    by_model: dict[str, dict] = defaultdict(lambda: {"requests": 0, **{key: 0 for key in TOKEN_KEYS}})
    for provider, model, *counts in rows:
        name = f"{provider or UNSPECIFIED}/{model or UNSPECIFIED}"
        for bucket in (usage, by_model[name]):
            bucket["requests"] += 1
            for key, value in zip(TOKEN_KEYS, counts):
                bucket[key] += _number(value) or 0
    return {**usage, "by_model": dict(by_model)}
