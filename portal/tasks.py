"""Background work, tenant by tenant.

Every task takes the tenant's schema name as an explicit argument and runs its body inside
``schema_context``; nothing relies on whatever schema a worker's connection was last set to
(peer-lessons §24). A suspended tenant's tasks are skipped, not run.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import schema_context

log = logging.getLogger("ledgerbridge.tasks")


class TenantUnavailable(Exception):
    pass


def enqueue_for_tenant(schema_name: str, func_path: str, *args: Any, task_name: str | None = None,
                       sync: bool | None = None, **kwargs: Any) -> str:
    """Queue ``func_path(*args, **kwargs)`` to run inside ``schema_name``. Returns the task id."""
    if not schema_name or schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise ValueError("enqueue_for_tenant needs a tenant schema name, not the public schema")
    q_options: dict[str, Any] = {"task_name": task_name or f"{schema_name}:{func_path.rsplit('.', 1)[-1]}"}
    if sync is not None:
        q_options["sync"] = sync
    return async_task("portal.tasks.run_in_tenant", schema_name, func_path, *args, q_options=q_options,
                      **kwargs)


def run_in_tenant(schema_name: str, func_path: str, *args: Any, **kwargs: Any) -> Any:
    """Task body wrapper: resolve the tenant in the public schema, then run inside its schema."""
    from portal.tenants.models import Tenant

    tenant = Tenant.objects.filter(schema_name=schema_name).first()  # public table, on every search path
    if tenant is None:
        raise TenantUnavailable(f"No tenant with schema {schema_name!r}")
    if not tenant.is_active:
        log.info("skipping %s for suspended tenant %s", func_path, schema_name)
        return {"skipped": "tenant suspended"}
    func = import_string(func_path)
    # schema_context puts back whatever the connection had before: public in a worker, the caller's
    # tenant when a task runs inline.
    with schema_context(schema_name):
        return func(*args, **kwargs)
