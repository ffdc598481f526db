"""``plainly_valid`` (the serializers' fast path) gives DRF's validated data or steps aside."""

from __future__ import annotations

import importlib
import inspect

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intents.api.serializers import EventCreateInputSerializer, IntentCreateInputSerializer, StatusInputSerializer
from intents.api.serializers_leases import LeaseAcquireInputSerializer
from openintent_project.api.fields import ObjectField, StrictCharField
from openintent_project.api.serializers import ProtocolSerializer, _fast_path, plainly_valid

INPUT_MODULES = [
    "intents.api.serializers", "intents.api.serializers_leases", "governance.api.serializers",
    "vaults.api.serializers", "agents_registry.api.serializers", "triggers.api.serializers",
]


def _input_serializers() -> list[type]:
    found = []
    for module_name in INPUT_MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ProtocolSerializer) and cls.__module__ == module_name:
                found.append(cls)
    return found


FAST = [cls for cls in _input_serializers() if _fast_path(cls) is not None]

tricky_text = st.sampled_from(["", " ", "  a  ", "a\x00b", "\ud800", "x\udfffy", "é", "\t\n", "a" * 101, "a" * 201, "  " + "b" * 100 + " "])
values = st.one_of(
    st.none(), st.text(max_size=12), tricky_text, st.integers(), st.booleans(), st.floats(allow_nan=False),
    st.sampled_from([0, -1, 86400 * 365 + 1, 10**12, -(10**12), "12", " 7 ", 3.0, 2.5]),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.one_of(st.text(max_size=3), tricky_text, st.none(), st.integers()), max_size=3),
)


def bodies(cls):
    names = list(cls._declared_fields) + ["unknown_field"]
    return st.dictionaries(st.sampled_from(names), values, max_size=len(names))


def test_the_hot_bodies_take_the_fast_path():
    assert {EventCreateInputSerializer, IntentCreateInputSerializer, StatusInputSerializer, LeaseAcquireInputSerializer} <= set(FAST)
    body = {"event_type": "comment", "actor": " bench ", "payload": {"text": "hello"}, "trace_id": None}
    assert plainly_valid(EventCreateInputSerializer, body) == {
        "event_type": "comment", "actor": "bench", "payload": {"text": "hello"}, "trace_id": None,
    }
    assert plainly_valid(EventCreateInputSerializer, {"event_type": "c", "actor": "a"})["payload"] == {}
    created = plainly_valid(IntentCreateInputSerializer, {"title": "T", "depends_on": [" a", ""], "state": {"x": 1}})
    assert created["depends_on"] == ["a", ""] and created["governance_policy"] is None and created["status"] == "draft"


@pytest.mark.parametrize("serializer_class", FAST, ids=lambda cls: cls.__name__)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_fast_path_agrees_with_drf_on_any_body(serializer_class, data):
    body = data.draw(bodies(serializer_class))
    fast = plainly_valid(serializer_class, body)
    serializer = serializer_class(data=body)
    if fast is not None:
        assert serializer.is_valid(), serializer.errors
        assert fast == dict(serializer.validated_data)
    elif serializer.is_valid():
        # Stepping aside for a valid body is allowed (it only costs time), but not when every
        # value has its field's own JSON type: the shapes the fast path exists for.
        assert not all(natural(serializer_class, name, value) for name, value in body.items())


def natural(serializer_class, name, value) -> bool:
    leaf = next((leaf for leaf in _fast_path(serializer_class) if leaf.name == name), None)
    if leaf is None or value is None or leaf.kind == "any":
        return True
    if leaf.kind == "texts":
        return type(value) is list and all(type(item) is str for item in value)
    return type(value) is {"text": str, "object": dict, "integer": int}[leaf.kind]


def test_a_serializer_with_anything_unmodelled_gets_no_fast_path():
    class WithMethod(ProtocolSerializer):
        name = StrictCharField()

        def validate_name(self, value):
            return value

    class WithValidate(ProtocolSerializer):
        meta = ObjectField()

        def validate(self, attrs):
            return attrs

    class WithOtherField(ProtocolSerializer):
        name = StrictCharField()
        count = StrictCharField(validators=[lambda value: None])

    for cls in (WithMethod, WithValidate, WithOtherField):
        assert _fast_path(cls) is None and plainly_valid(cls, {"name": "x", "meta": {}, "count": "1"}) is None
