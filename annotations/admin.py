from django.contrib import admin

# gold_admin registers the gold answers and the project items (with the gold-from-consensus action).
from annotations import gold_admin  # noqa: F401
from annotations.models import Judgement, Task, TaskItem


class TaskItemInline(admin.TabularInline):
    model = TaskItem
    extra = 0
    readonly_fields = ["item", "position"]
    can_delete = False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "expert", "status", "issued_at", "expires_at"]
    list_filter = ["status", "project"]
    search_fields = ["expert__email", "expert__username", "project__slug"]
    readonly_fields = [
        "project",
        "expert",
        "status",
        "item_set_key",
        "skip_reason",
        "issued_at",
        "expires_at",
        "closed_at",
    ]
    inlines = [TaskItemInline]


@admin.register(Judgement)
class JudgementAdmin(admin.ModelAdmin):
    """Read-only: judgements are an append-only log."""

    list_display = ["id", "project", "expert", "not_sure", "time_on_task_ms", "created_at"]
    list_filter = ["project", "not_sure"]
    search_fields = ["expert__email", "expert__username"]
    readonly_fields = [f.name for f in Judgement._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
