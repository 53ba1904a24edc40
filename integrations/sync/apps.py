from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SyncConfig(AppConfig):
    name = "integrations.sync"
    label = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        post_migrate.connect(_ensure_system_schedules, dispatch_uid="ledgerbridge.system_schedules")


def _ensure_system_schedules(sender, using="default", **kwargs) -> None:
    """After the public schema is migrated, the dispatcher's django-q schedule exists (every deploy)."""
    from django.conf import settings
    from django.db import connections

    if sender.label != "django_q" or connections[using].schema_name != settings.PUBLIC_SCHEMA_NAME:
        return
    from portal.schedules import ensure_system_schedules

    ensure_system_schedules()
