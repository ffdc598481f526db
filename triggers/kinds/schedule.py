"""Schedule triggers: 5-field cron in an IANA time zone, or a one-shot ``at`` (17 §2, §6)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.conf import settings

from .base import TriggerKind, invalid, normalize_timestamp, timestamp_value


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def cron_fields(expression: str) -> int:
    return len(expression.split())


class ScheduleKind(TriggerKind):
    type = "schedule"

    def clean_condition(self, condition: dict, *, now: datetime) -> dict:
        cron = condition.get("cron")
        at = normalize_timestamp(condition, "at")
        if cron is not None:
            if not isinstance(cron, str):
                raise invalid("cron", "Input should be a valid string", cron, "string_type")
            fields = cron_fields(cron)
            seconds = fields == 6 and settings.TRIGGERS_ALLOW_SECONDS_CRON
            if fields != 5 and not seconds:
                raise invalid("cron", "cron must have 5 fields (minute hour day month weekday)", cron)
            if not croniter.is_valid(cron, second_at_beginning=seconds):
                raise invalid("cron", "Invalid cron expression", cron)
        if cron is None and at is None:
            raise invalid("cron", "A schedule trigger needs condition.cron or condition.at", None, "missing")
        tz = condition.get("timezone", "UTC")
        if tz is None:
            tz = "UTC"
        try:
            if not isinstance(tz, str):
                raise ZoneInfoNotFoundError(tz)
            _zone(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise invalid("timezone", "Unknown IANA time zone", tz) from None
        condition["timezone"] = tz
        if at is not None and at <= now:
            raise invalid("at", "condition.at must be in the future", condition["at"])
        starts = normalize_timestamp(condition, "starts_at")
        ends = normalize_timestamp(condition, "ends_at")
        if starts and ends and ends < starts:
            raise invalid("ends_at", "ends_at must not be before starts_at", condition["ends_at"])
        return condition

    def in_window(self, trigger, *, now: datetime) -> bool:
        condition = trigger.condition or {}
        starts, ends = timestamp_value(condition, "starts_at"), timestamp_value(condition, "ends_at")
        return not ((starts and now < starts) or (ends and now > ends))

    def next_fire_at(self, trigger, *, after: datetime) -> datetime | None:
        condition = trigger.condition or {}
        at = timestamp_value(condition, "at")
        if at is not None:  # ``at`` wins over ``cron``; it fires once, then the trigger is disabled
            return at if at > after else None
        cron = condition.get("cron")
        if not cron:
            return None
        starts, ends = timestamp_value(condition, "starts_at"), timestamp_value(condition, "ends_at")
        zone = _zone(condition.get("timezone") or "UTC")
        seconds = cron_fields(cron) == 6
        if starts and starts > after:
            # The first cron time at or after starts_at (17 §6).
            iterator = croniter(cron, (starts - timedelta(seconds=1)).astimezone(zone), second_at_beginning=seconds)
            candidate = iterator.get_next(datetime)
            while candidate < starts:
                candidate = iterator.get_next(datetime)
        else:
            candidate = croniter(cron, after.astimezone(zone), second_at_beginning=seconds).get_next(datetime)
        candidate = candidate.astimezone(timezone.utc)
        if ends and candidate > ends:
            return None
        return candidate
