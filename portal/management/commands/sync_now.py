"""python manage.py sync_now --tenant demo --flow kashflow_invoices_to_ax [--queue]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from integrations.sync.models import Flow, SyncRun
from integrations.sync.services import flow_run_request
from portal.tenants.models import Domain, Tenant


def resolve_tenant(name: str) -> Tenant:
    tenant = (Tenant.objects.filter(schema_name=name.replace("-", "_")).exclude(schema_name="public").first()
              or getattr(Domain.objects.filter(domain__startswith=f"{name}.").select_related("tenant").first(),
                         "tenant", None))
    if tenant is None:
        raise CommandError(f"No tenant called {name!r}.")
    if not tenant.is_active:
        raise CommandError(f"Tenant {name!r} is suspended.")
    return tenant


class Command(BaseCommand):
    help = "Run one flow of one tenant now: inline (default) or through the django-q2 worker (--queue)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="schema name or subdomain, e.g. demo")
        parser.add_argument("--flow", required=True, help="flow key, e.g. kashflow_invoices_to_ax")
        parser.add_argument("--queue", action="store_true", help="hand the run to the worker and return")

    def handle(self, *args, tenant: str, flow: str, queue: bool, **options):
        tenant_obj = resolve_tenant(tenant)
        with schema_context(tenant_obj.schema_name):
            flow_obj = Flow.objects.filter(key=flow).select_related("source", "target").first()
            if flow_obj is None:
                keys = ", ".join(Flow.objects.values_list("key", flat=True)) or "none"
                raise CommandError(f"Tenant {tenant!r} has no flow {flow!r} (configured flows: {keys}).")
            run = flow_run_request(flow=flow_obj, trigger=SyncRun.Trigger.COMMAND, inline=not queue)
            run.refresh_from_db()
            if queue:
                self.stdout.write(f"Run #{run.pk} queued (task {run.task_id}); the worker will pick it up.")
                return
            self.stdout.write(
                f"Run #{run.pk} {run.get_status_display().lower()}: {run.records_seen} seen, "
                f"{run.records_posted} posted, {run.records_skipped} skipped, {run.records_failed} failed."
            )
            if run.message:
                self.stdout.write(run.message)
            if run.status == SyncRun.Status.FAILED:
                raise CommandError("The run failed.")
