"""ProtocolSerializer copies declared fields cheaply without letting instances share state."""

from __future__ import annotations

from rest_framework import serializers

from openintent_project.api.fields import ObjectField, StrictCharField, StringListField
from openintent_project.api.serializers import ProtocolSerializer


class Item(ProtocolSerializer):
    name = StrictCharField()


class Body(ProtocolSerializer):
    title = StrictCharField(max_length=5)
    tags = StringListField(required=False, default=list)
    meta = ObjectField(required=False, default=dict)
    shared_literal = serializers.JSONField(required=False, default={"k": []})
    items = Item(many=True, required=False)


def test_instances_get_their_own_bound_fields():
    first, second = Body(data={"title": "a"}), Body(data={"title": "b"})
    assert first.fields["title"] is not second.fields["title"]
    assert first.fields["title"].parent is first and second.fields["title"].parent is second
    assert Body._declared_fields["title"].parent is None  # the declared field is never bound


def test_fields_holding_fields_and_mutable_literal_defaults_are_deep_copied():
    first, second = Body(data={"title": "a"}), Body(data={"title": "b"})
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["items"] is not second.fields["items"]
    assert first.fields["shared_literal"].default is not second.fields["shared_literal"].default


def test_validation_and_errors_are_independent():
    good = Body(data={"title": "abc", "items": [{"name": "x"}]})
    bad = Body(data={"title": "too long", "items": [{"name": 1}]})
    assert good.is_valid(), good.errors
    assert not bad.is_valid()
    assert set(bad.errors) == {"title", "items"}
    assert good.validated_data["tags"] == [] and good.validated_data["meta"] == {}
    again = Body(data={"title": "abc"})
    assert again.is_valid()
    assert again.validated_data["tags"] is not good.validated_data["tags"]
