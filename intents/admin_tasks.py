"""Admin pages for RFC-0012 tasks and plans, with their dependencies."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html_join

from openintent_project.admin_utils import ReadOnlyAdminMixin, pretty_json

from .models import Plan, PlanStep, Task


def _task_links(ids):
    names = dict(Task.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    by_str = {str(k): v for k, v in names.items()}
    return format_html_join(", ", '<a href="{}">{}</a>', (
        (reverse("admin:intents_task_change", args=[i]), f"{by_str.get(str(i), i)}") for i in ids
    )) or "-"


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status", "intent", "assigned_agent", "attempt", "max_attempts", "dependency_count", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "name", "assigned_agent", "intent__title"]
    list_select_related = ["intent"]
    readonly_fields = ["id", "intent", "name", "description", "status", "assigned_agent", "depends_on_links", "blocks_links",
                       "attempt", "max_attempts", "timeout_seconds", "error", "blocked_reason", "input_json", "output_json",
                       "version", "created_at", "claimed_at", "started_at", "completed_at"]
    fields = readonly_fields

    @admin.display(description="Depends on")
    def dependency_count(self, obj):
        return len(obj.depends_on)

    @admin.display(description="Depends on")
    def depends_on_links(self, obj):
        return _task_links(obj.depends_on)

    @admin.display(description="Blocks")
    def blocks_links(self, obj):
        return _task_links(obj.blocks)

    def input_json(self, obj):
        return pretty_json(obj.input)

    def output_json(self, obj):
        return pretty_json(obj.output)


class PlanStepInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PlanStep
    fields = ["position", "task", "task_status", "task_depends_on"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("task")

    def task_status(self, obj):
        return obj.task.status

    def task_depends_on(self, obj):
        return _task_links(obj.task.depends_on)


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "intent", "state", "on_failure", "version", "created_at"]
    list_filter = ["state", "on_failure"]
    search_fields = ["id", "intent__title"]
    list_select_related = ["intent"]
    readonly_fields = ["id", "intent", "state", "on_failure", "on_complete", "checkpoints_json", "conditions_json", "version", "created_at", "updated_at"]
    fields = readonly_fields
    inlines = [PlanStepInline]

    def checkpoints_json(self, obj):
        return pretty_json(obj.checkpoints)

    def conditions_json(self, obj):
        return pretty_json(obj.conditions)
