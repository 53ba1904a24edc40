from django.db import connection


def portal(request):
    tenant = getattr(request, "tenant", None)
    is_tenant = tenant is not None and tenant.schema_name != "public"
    return {"current_tenant": tenant if is_tenant else None, "schema_name": connection.schema_name}
