from django.db import connection


def portal(request):
    tenant = getattr(request, "tenant", None)
    is_tenant = tenant is not None and tenant.schema_name != "public"
    return {"current_tenant": tenant if is_tenant else None, "schema_name": connection.schema_name}


def notifications(request):
    """``unread_notifications`` for the nav: one COUNT, run only when a template actually shows it."""
    user = getattr(request, "user", None)
    if connection.schema_name == "public" or user is None or not user.is_authenticated:
        return {}
    cache: dict[str, int] = {}

    def unread() -> int:
        if "n" not in cache:
            from integrations.sync.models import Notification

            cache["n"] = Notification.objects.filter(read_at__isnull=True).count()
        return cache["n"]

    return {"unread_notifications": unread}


def attention(request):
    """``attention.inbox`` / ``attention.approvals`` for the nav: one query, run only when a template shows it."""
    user = getattr(request, "user", None)
    if connection.schema_name == "public" or user is None or not user.is_authenticated:
        return {}
    from django.utils.functional import SimpleLazyObject

    from integrations.sync.inbox import attention_counts

    return {"attention": SimpleLazyObject(attention_counts)}
