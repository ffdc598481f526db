"""The base of every serializer in the project (inputs and documented outputs)."""

from __future__ import annotations

import copy
import functools
from typing import Any

from django.core import validators
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.utils import json as drf_json
from rest_framework.validators import ProhibitSurrogateCharactersValidator

_IMMUTABLE = (str, bytes, int, float, bool, tuple, frozenset, type(None))


def _shallow_copy_is_safe(field: serializers.Field) -> bool:
    """True for a field whose copies may share everything with the declared field.

    Binding a field to a serializer (``bind``) and validating with it only set attributes on
    the field itself, so a shallow copy keeps copies apart, except where the field holds
    other fields (a ``child``, a nested serializer: those are bound to their parent) or a
    mutable default value that validated data would share."""
    if isinstance(field, serializers.BaseSerializer) or hasattr(field, "child") or hasattr(field, "child_relation"):
        return False
    default = field.default
    return default is empty or callable(default) or isinstance(default, _IMMUTABLE)


# ``Serializer`` with cheaper field copies. (Comments, not a docstring: the OpenAPI document
# would take an inherited docstring as the description of every serializer.)
#
# DRF deep-copies every declared field for every serializer instance, and a field's
# ``__deepcopy__`` runs its ``__init__`` again: about 0.3 ms for an ordinary request body on
# our machine, a tenth of a whole write. Leaf fields are copied shallowly instead (see
# ``_shallow_copy_is_safe``); fields that hold fields are deep-copied as DRF does.
class ProtocolSerializer(serializers.Serializer):
    def get_fields(self):
        return {
            name: copy.copy(field) if _shallow_copy_is_safe(field) else copy.deepcopy(field)
            for name, field in self._declared_fields.items()
        }


# --- plainly valid bodies -------------------------------------------------------------------
#
# Most request bodies are small, flat and valid: a few strings and objects. DRF validates
# them through a serializer instance, a bound copy of every field, and each field's
# ``run_validation``, ``to_internal_value`` and validators: 100-130 µs for an event's five
# fields on our machine, a tenth of an append. ``plainly_valid`` checks such a body directly,
# against the same rules read off the declared fields, and gives the same validated data. It
# takes on only what it can decide exactly as DRF would, and only the success: whenever a
# body is not plainly valid, or a serializer has anything it does not model (another field
# type, a validator, ``validate``/``validate_<field>`` methods, a custom source), it answers
# None and the serializer runs as usual, so every error keeps DRF's wording and shape.

_MISSING = object()
_CHAR_VALIDATORS = (
    validators.MaxLengthValidator, validators.MinLengthValidator,
    validators.ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator,
)


class _Leaf:
    """What the fast path checks of one declared field: ``kind`` is "text" (StrictCharField),
    "object" (ObjectField), "texts" (StringListField, its items checked as ``child``),
    "integer" (StrictIntegerField, JSON integers only) or "any" (AnyJSONField)."""

    __slots__ = ("name", "kind", "required", "default", "allow_null", "allow_blank", "trim",
                 "max_length", "min_length", "min_value", "max_value", "child")

    def __init__(self, name: str, field: serializers.Field, kind: str, child: "_Leaf | None" = None) -> None:
        self.name = name
        self.kind = kind
        self.required = field.required
        self.default = field.default
        self.allow_null = field.allow_null
        self.allow_blank = getattr(field, "allow_blank", False)
        self.trim = getattr(field, "trim_whitespace", False)
        self.max_length = getattr(field, "max_length", None)
        self.min_length = getattr(field, "min_length", None)
        self.min_value = getattr(field, "min_value", None)
        self.max_value = getattr(field, "max_value", None)
        self.child = child


def _leaf(name: str, field: serializers.Field, *, item: bool = False) -> _Leaf | None:
    """The field's rules, when it is a field of a kind the fast path models exactly. ``item``:
    a list's child field (bound to the list, with no name or source of its own)."""
    from .fields import AnyJSONField, ObjectField, StrictCharField, StrictIntegerField, StringListField

    if field.read_only or (not item and field.source not in (None, name)):
        return None
    default = field.default
    if callable(default) and (hasattr(default, "set_context") or getattr(default, "requires_context", False)):
        return None
    if type(field) is StrictCharField:
        if not all(isinstance(v, _CHAR_VALIDATORS) for v in field.validators):
            return None
        return _Leaf(name, field, "text")
    if type(field) is ObjectField and not field.validators:
        return _Leaf(name, field, "object")
    if type(field) is StrictIntegerField:
        if not all(isinstance(v, (validators.MinValueValidator, validators.MaxValueValidator)) for v in field.validators):
            return None
        return _Leaf(name, field, "integer")
    if type(field) is AnyJSONField and not field.validators and not field.binary and field.encoder is None:
        return _Leaf(name, field, "any")
    if type(field) is StringListField and not field.validators and field.allow_empty:
        child = _leaf(name, field.child, item=True)
        if child is None or child.kind != "text" or child.allow_null:
            return None
        return _Leaf(name, field, "texts", child)
    return None


@functools.cache
def _fast_path(serializer_class: type) -> tuple[_Leaf, ...] | None:
    """The fast path's checks for ``serializer_class``, or None when it has anything they do
    not model. Worked out once per class."""
    overrides = (
        serializer_class.validate is not serializers.Serializer.validate
        or serializer_class.to_internal_value is not serializers.Serializer.to_internal_value
        or serializer_class.run_validation is not serializers.Serializer.run_validation
        or getattr(getattr(serializer_class, "Meta", None), "validators", None)
    )
    declared = serializer_class._declared_fields
    if overrides or any(hasattr(serializer_class, f"validate_{name}") for name in declared):
        return None
    leaves = tuple(_leaf(name, field) for name, field in declared.items())
    return leaves if all(leaf is not None for leaf in leaves) else None


_INVALID = object()


def _text(leaf: _Leaf, value: Any) -> Any:
    """CharField's run_validation for a plain string, or _INVALID."""
    if type(value) is not str:
        return _INVALID
    if leaf.trim:
        value = value.strip()
    if value == "":
        return value if leaf.allow_blank else _INVALID
    if (
        (leaf.max_length is not None and len(value) > leaf.max_length)
        or (leaf.min_length is not None and len(value) < leaf.min_length)
        or "\x00" in value
        or not _encodable(value)
    ):
        return _INVALID
    return value


def plainly_valid(serializer_class: type, data: Any) -> dict | None:
    """``serializer_class(data=data)``'s validated data when ``data`` is plainly valid (see
    above), else None: then run the serializer."""
    plan = _fast_path(serializer_class)
    if plan is None or type(data) is not dict:
        return None
    validated = {}
    for leaf in plan:
        value = data.get(leaf.name, _MISSING)
        if value is _MISSING:
            if leaf.required:
                return None
            if leaf.default is empty:
                continue  # DRF leaves an optional field without a default out
            value = leaf.default() if callable(leaf.default) else leaf.default
        elif value is None:
            if not leaf.allow_null:
                return None
        elif leaf.kind == "text":
            value = _text(leaf, value)
            if value is _INVALID:
                return None
        elif leaf.kind == "object":
            if type(value) is not dict:
                return None
        elif leaf.kind == "integer":
            if type(value) is not int or (leaf.min_value is not None and value < leaf.min_value) or (
                leaf.max_value is not None and value > leaf.max_value
            ):
                return None  # numeric strings and floats are DRF's to convert
        elif leaf.kind == "any":
            try:
                drf_json.dumps(value)  # JSONField's own check (no NaN or infinity), as DRF runs it
            except (TypeError, ValueError):
                return None
        else:  # texts
            if type(value) is not list:
                return None
            value = [_text(leaf.child, item) for item in value]
            if _INVALID in value:
                return None
        validated[leaf.name] = value
    return validated


def _encodable(value: str) -> bool:
    """False for a string holding a lone surrogate (what ProhibitSurrogateCharactersValidator refuses)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
