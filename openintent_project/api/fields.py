"""Serializer fields that validate like the protocol (pydantic lax mode, README §3):
numbers never coerce to strings, objects must be objects."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .timestamps import parse_timestamp


class StrictCharField(serializers.CharField):
    default_error_messages = {"string_type": "Input should be a valid string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("string_type")
        return super().to_internal_value(data)


class ObjectField(serializers.JSONField):
    """A JSON object (dict)."""

    default_error_messages = {"dict_type": "Input should be a valid dictionary"}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("dict_type")
        return data


class StringListField(serializers.ListField):
    def __init__(self, **kwargs):
        kwargs.setdefault("child", StrictCharField(allow_blank=True))
        super().__init__(**kwargs)


class AnyJSONField(serializers.JSONField):
    """Any JSON value, including null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class StrictIntegerField(serializers.IntegerField):
    """Integers and numeric strings ("12"), but not booleans or fractional floats."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    pass


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.Field):
    """ISO 8601 with or without an offset; naive values are UTC (README §3)."""

    default_error_messages = {"invalid": "Input should be a valid datetime"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_timestamp(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return value
