from django.contrib import admin, messages
from django.db import connection

from portal.tenants.models import Domain, Plan, Tenant
from portal.tenants.services import tenant_reactivate, tenant_suspend


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "schema_name", "primary_domain", "plan", "is_active", "created_at")
    list_filter = ("is_active", "plan")
    search_fields = ("name", "schema_name", "owner_email", "domains__domain")
    readonly_fields = ("schema_name", "created_at")
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def has_module_permission(self, request):
        return connection.schema_name == "public" and super().has_module_permission(request)

    @admin.display(description="Domain")
    def primary_domain(self, obj: Tenant) -> str:
        domain = obj.domains.filter(is_primary=True).first()
        return domain.domain if domain else "—"

    @admin.action(description="Suspend selected tenants (site and tasks stop)")
    def suspend(self, request, queryset):
        for tenant in queryset.exclude(schema_name="public"):
            tenant_suspend(tenant=tenant, reason=f"Suspended by {request.user.get_username()}")
        messages.success(request, "Suspended.")

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request, queryset):
        for tenant in queryset:
            tenant_reactivate(tenant=tenant)
        messages.success(request, "Reactivated.")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "max_connections", "max_records_per_month")
