"""The base of every serializer in the project (inputs and documented outputs)."""

from __future__ import annotations

import copy

from rest_framework import serializers
from rest_framework.fields import empty

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
