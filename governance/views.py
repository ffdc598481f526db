"""The arbitrators' review screens (/review/): one queue of everything waiting on a human,
a detail page per item with its decision form, bulk actions and a small JSON endpoint the
queue polls. Django auth (session, CSRF); the same services as the API do the work."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from intents.services.core import intent_get, suspension_respond
from openintent_project.api.principal import Principal
from openintent_project.errors import ProtocolError

from . import selectors, services
from .selectors import KINDS, SORTS

LOGIN_URL = "governance:login"


def is_arbitrator(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (
        user.has_perm("governance.review_governance")
        or user.groups.filter(name=settings.ARBITRATOR_GROUP).exists()
    ))


def arbitrator_required(view):
    """Login required (redirect to the sign-in page), then the arbitrator permission (403)."""

    @login_required(login_url=LOGIN_URL)
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_arbitrator(request.user):
            raise PermissionDenied("You are not an arbitrator.")
        return view(request, *args, **kwargs)

    return wrapper


def arbitrator_principal(user) -> Principal:
    """Arbitrators decide on any intent: an operator principal named after the user, so the
    ACL bypass is audited (11 §2) and resolvers read ``user:<name>``."""
    return Principal(id=f"user:{user.get_username()}", api_key="", is_operator=True)


def _filters(request) -> dict:
    get = request.GET
    kind = get.get("kind") or None
    priority = get.get("priority") or None
    try:
        min_age = int(get.get("min_age") or 0) or None
    except ValueError:
        min_age = None
    sort = get.get("sort") if get.get("sort") in SORTS else "oldest"
    return {
        "kind": kind if kind in KINDS else None,
        "priority": priority if priority in selectors.PRIORITY_RANK else None,
        "min_age_minutes": min_age if min_age and min_age > 0 else None,
        "intent_id": (get.get("intent") or "").strip() or None,
        "portfolio_id": (get.get("portfolio") or "").strip() or None,
        "sort": sort,
    }


@arbitrator_required
@require_GET
def queue(request):
    filters = _filters(request)
    items, counts = selectors.review_queue(**filters)
    return render(request, "governance/queue.html", {
        "items": items, "counts": counts, "total": sum(counts.values()), "filters": filters, "kinds": KINDS,
        "priorities": list(selectors.PRIORITY_RANK), "sorts": SORTS,
        "portfolio_filter": selectors.portfolio_filter_available(),
    })


@arbitrator_required
@require_GET
def queue_json(request):
    items, counts = selectors.review_queue(**_filters(request))
    return JsonResponse({"items": [i.as_dict() for i in items], "counts": counts, "total": sum(counts.values())})


def _load(kind: str, item_id: str):
    """(intent, object) for a queue item; suspensions are keyed by intent id."""
    if kind not in KINDS:
        raise Http404("Unknown item kind")
    if kind == "suspension":
        try:
            intent = intent_get(item_id)
        except ProtocolError:
            raise Http404("Intent not found") from None
        return intent, (intent.state or {}).get("_suspension") or {}
    obj = selectors.queue_item_object(kind, item_id)
    if obj is None:
        raise Http404("Item not found")
    return obj.intent, obj


@arbitrator_required
@require_GET
def detail(request, kind: str, item_id: str):
    intent, obj = _load(kind, item_id)
    return render(request, "governance/detail.html", _detail_context(kind, intent, obj))


def _detail_context(kind, intent, obj) -> dict:
    if kind == "suspension":
        pending = intent.status == "suspended_awaiting_input"
        choices = obj.get("choices") if isinstance(obj, dict) else None
        if not choices and isinstance(obj, dict) and obj.get("response_type") == "confirm":
            choices = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
    else:
        pending = getattr(obj, "status", "") == "pending"
        options = getattr(obj, "options", None) if kind == "arbitration" else None
        choices = [o for o in options if isinstance(o, dict) and "label" in o] if isinstance(options, list) else None
    if choices is not None:
        choices = [
            {"value": str(c.get("value", c.get("label", ""))), "label": str(c.get("label", c.get("value", "")))}
            for c in choices if isinstance(c, dict)
        ] or None
    return {
        "kind": kind, "kind_label": KINDS[kind], "intent": intent, "obj": obj, "pending": pending,
        "item_id": str(intent.pk) if kind == "suspension" else str(obj.pk),
        "question": (obj.get("question") or obj.get("reason") or "Awaiting input") if isinstance(obj, dict) else "",
        "choices": choices if isinstance(choices, list) else None,
        "events": selectors.recent_events(intent), "coordinators": selectors.coordinator_leases(intent),
        "leases": selectors.scope_leases(intent), "costs": selectors.intent_costs(intent),
    }


def decide_item(*, principal: Principal, kind: str, intent, obj, outcome: str, rationale: str) -> str:
    """Apply one decision through the API's services; returns a confirmation message."""
    rationale = rationale.strip()
    if kind == "escalation":
        services.escalation_resolve(principal=principal, escalation_id=str(obj.pk), resolution=outcome,
                                    notes=rationale or None, resolved_by=principal.id)
        return "Escalation resolved."
    if kind == "approval":
        if outcome not in ("approve", "deny"):
            raise ValueError("Choose approve or deny.")
        services.approval_decide(principal=principal, intent_id=str(intent.pk), approval_id=str(obj.pk),
                                 approve=outcome == "approve", notes=rationale or None)
        return "Approval approved." if outcome == "approve" else "Approval denied."
    if kind == "access_request":
        if outcome == "approve":
            services.access_request_approve(principal=principal, intent_id=str(intent.pk), request_id=str(obj.pk),
                                            decided_by=principal.id, reason=rationale or None)
            return "Access request approved."
        if outcome == "deny":
            services.access_request_deny(principal=principal, intent_id=str(intent.pk), request_id=str(obj.pk),
                                         decided_by=principal.id, reason=rationale or None)
            return "Access request denied."
        raise ValueError("Choose approve or deny.")
    if kind == "arbitration":
        services.decision_record(principal=principal, intent_id=str(intent.pk), decision_type="arbitration",
                                 outcome=outcome, rationale=rationale, arbitration_id=str(obj.pk))
        return "Decision recorded."
    if kind == "suspension":
        # Form values are strings: give back the choice's own JSON value (numbers, booleans).
        for choice in obj.get("choices") or []:
            if isinstance(choice, dict) and "value" in choice and str(choice["value"]) == outcome:
                outcome = choice["value"]
                break
        suspension_respond(principal=principal, intent_id=str(intent.pk), suspension_id=str(obj.get("id") or ""),
                           value=outcome, responded_by=principal.id,
                           metadata={"rationale": rationale} if rationale else None)
        return "Response recorded; the intent is active again."
    raise ValueError("Unknown item kind")


def _error_text(exc: ProtocolError) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return str(detail.get("message") or detail)
    if isinstance(detail, list):
        return "; ".join(str(i.get("msg", i)) for i in detail if isinstance(i, dict)) or "Invalid input"
    return str(detail)


@arbitrator_required
@require_POST
def decide(request, kind: str, item_id: str):
    intent, obj = _load(kind, item_id)
    outcome = (request.POST.get("outcome") or "").strip()
    rationale = request.POST.get("rationale") or ""
    if not outcome:
        context = _detail_context(kind, intent, obj)
        context["error"] = "An outcome is required."
        return render(request, "governance/detail.html", context, status=400)
    try:
        message = decide_item(principal=arbitrator_principal(request.user), kind=kind, intent=intent, obj=obj,
                              outcome=outcome, rationale=rationale)
    except (ProtocolError, ValueError) as exc:
        context = _detail_context(kind, intent, obj)
        context["error"] = _error_text(exc) if isinstance(exc, ProtocolError) else str(exc)
        status = exc.status_code if isinstance(exc, ProtocolError) else 400
        return render(request, "governance/detail.html", context, status=status)
    messages.success(request, message)
    return redirect(reverse("governance:queue"))


BULK_KINDS = ("escalation", "approval", "access_request")


@arbitrator_required
@require_POST
def bulk(request):
    """Apply one outcome to several selected items (values ``<kind>:<id>``)."""
    outcome = (request.POST.get("outcome") or "").strip()
    rationale = request.POST.get("rationale") or ""
    principal = arbitrator_principal(request.user)
    if outcome not in ("approve", "deny"):
        messages.error(request, "Choose approve or deny for bulk actions.")
        return redirect(reverse("governance:queue"))
    done, failed = 0, []
    for value in request.POST.getlist("items"):
        kind, _, item_id = value.partition(":")
        if kind not in BULK_KINDS:
            failed.append(f"{value}: no bulk action for this kind")
            continue
        try:
            intent, obj = _load(kind, item_id)
            effective = outcome if kind != "escalation" else ("approved" if outcome == "approve" else "denied")
            decide_item(principal=principal, kind=kind, intent=intent, obj=obj, outcome=effective, rationale=rationale)
            done += 1
        except (Http404, ProtocolError, ValueError) as exc:
            failed.append(f"{value}: {_error_text(exc) if isinstance(exc, ProtocolError) else exc}")
    messages.success(request, f"{done} item(s) decided.")
    for failure in failed:
        messages.error(request, failure)
    return redirect(reverse("governance:queue"))
