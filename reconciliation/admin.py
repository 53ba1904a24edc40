from django.contrib import admin

from reconciliation.models import Mismatch, ReconciliationRun


class MismatchInline(admin.TabularInline):
    model = Mismatch
    extra = 0
    can_delete = False
    fields = ("kind", "reason", "source_id", "target_id", "customer", "kashflow_value", "erp_value", "resynced_at")
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "flow", "period_start", "period_end", "status", "mismatch_count", "trigger", "created_at")
    list_filter = ("status", "trigger", "flow")
    readonly_fields = ("summary", "task_id", "started_at", "finished_at")
    inlines = [MismatchInline]


@admin.register(Mismatch)
class MismatchAdmin(admin.ModelAdmin):
    list_display = ("pk", "run", "kind", "reason", "source_id", "target_id", "customer", "resynced_at")
    list_filter = ("reason", "kind")
    search_fields = ("source_id", "target_id", "customer")
