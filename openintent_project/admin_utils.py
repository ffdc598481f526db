"""Small helpers shared by admin pages of every app."""

from __future__ import annotations

import json

from django.utils.html import format_html


def pretty_json(value) -> str:
    return format_html("<pre style='white-space:pre-wrap;margin:0'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


class ReadOnlyAdminMixin:
    """For append-only records: viewable, never added, changed or deleted, by anyone."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
