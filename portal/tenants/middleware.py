from django.template.response import TemplateResponse


class SuspendedTenantMiddleware:
    """A suspended tenant's site answers 403 with an explanation instead of its pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name != "public" and not tenant.is_active:
            response = TemplateResponse(request, "tenants/suspended.html", {"tenant": tenant}, status=403)
            return response.render()
        return self.get_response(request)
