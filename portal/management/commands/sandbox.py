"""python manage.py sandbox — run and control the sandbox systems (docs/sandbox.md).

    sandbox serve                               serve every instance and the control API until Ctrl-C
    sandbox create --erp dynamics_ax --size 5000 [--id acme]
    sandbox list | inspect ID | connections ID | reseed ID [--size N] | delete ID
    sandbox faults ID SYSTEM ['{"rate_limit": {"every": 3}}'] [--merge] [--clear]
    sandbox storefront --tenant acme [--orders 3] [--no-confirm] [--seed 7] [--portal-url URL]

``serve`` works on the folder directly; the other sub-commands talk to the control API when the servers are
running (so fault switches reach the live apps) and otherwise work on the folder.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.sandboxes import (
    DEFAULT_PORTS,
    ControlClient,
    Ports,
    SandboxError,
    SandboxHub,
    SandboxUnavailable,
    serve_forever,
)


class Command(BaseCommand):
    help = "Run and control the Kashflow, Dynamics AX and Sage 100 sandbox systems."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        serve = sub.add_parser("serve", help="serve every instance and the control API until Ctrl-C")
        for name, port in DEFAULT_PORTS.items():
            serve.add_argument(f"--{name.replace('_', '-')}-port", type=int, default=port, dest=f"{name}_port")
        create = sub.add_parser("create", help="create and seed an instance")
        create.add_argument("--erp", choices=["dynamics_ax", "sage100"], required=True)
        create.add_argument("--size", default=str(settings.SANDBOX_DEFAULT_SIZE),
                            help="invoices to seed, or tiny/small/medium/large")
        create.add_argument("--id", dest="instance_id")
        create.add_argument("--tenant", default="")
        create.add_argument("--seed", type=int, dest="rng_seed")
        sub.add_parser("list", help="list instances")
        for name in ("inspect", "connections", "delete"):
            sub.add_parser(name).add_argument("instance_id")
        reseed = sub.add_parser("reseed", help="throw the data away and seed again")
        reseed.add_argument("instance_id")
        reseed.add_argument("--size")
        faults = sub.add_parser("faults", help="show or switch faults (needs the servers running)")
        faults.add_argument("instance_id")
        faults.add_argument("system", choices=["kashflow", "dynamics_ax", "sage100"])
        faults.add_argument("config", nargs="?", help="JSON fault configuration")
        faults.add_argument("--merge", action="store_true", help="merge into the current configuration")
        faults.add_argument("--clear", action="store_true", help="switch every fault off")
        shop = sub.add_parser("storefront", help="post simulated storefront orders to a tenant (docs/order-to-cash.md)")
        shop.add_argument("--tenant", required=True, help="the tenant's schema name")
        shop.add_argument("--orders", type=int, default=3)
        shop.add_argument("--no-confirm", action="store_true", help="send the orders only, no payment confirmations")
        shop.add_argument("--seed", type=int, dest="rng_seed")
        shop.add_argument("--portal-url", help="the tenant's portal address (default from the portal settings)")

    def handle(self, *args, action, **options):
        root = settings.SANDBOX_ROOT
        if action == "serve":
            ports = Ports(**{name: options[f"{name}_port"] for name in DEFAULT_PORTS})
            serve_forever(root, ports)
            return
        if action == "storefront":
            self.stdout.write(json.dumps(self._storefront(options), indent=2))
            return
        try:
            result = self._dispatch(action, root, options)
        except (SandboxError, SandboxUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        if result is not None:
            self.stdout.write(json.dumps(result, indent=2, default=str))

    def _storefront(self, options) -> dict:
        from django_tenants.utils import schema_context

        from integrations.sandboxes.storefront import StorefrontError, simulate_for_tenant
        from portal.tenants.models import Domain, Tenant

        schema = options["tenant"]
        if not Tenant.objects.filter(schema_name=schema).exists():
            raise CommandError(f"no tenant with schema {schema!r}")
        domain = (Domain.objects.filter(tenant__schema_name=schema).order_by("-is_primary", "pk")
                  .values_list("domain", flat=True).first() or f"{schema}.{settings.BASE_DOMAIN}")
        url = options["portal_url"] or f"{settings.PORTAL_SCHEME}://{domain}:{settings.PORTAL_PORT}"
        try:
            with schema_context(schema):
                return simulate_for_tenant(url, orders=options["orders"], confirm=not options["no_confirm"],
                                           seed=options["rng_seed"])
        except StorefrontError as exc:
            raise CommandError(str(exc)) from exc

    def _client(self, root) -> ControlClient | None:
        try:
            client = ControlClient.from_root(settings.SANDBOX_CONTROL_URL, root, settings.SANDBOX_TOKEN)
            client.health()
            return client
        except SandboxUnavailable:
            return None

    def _dispatch(self, action: str, root, options):  # noqa: C901 - one branch per sub-command
        client = self._client(root)
        hub = SandboxHub(root) if client is None else None
        instance_id = options.get("instance_id")
        if action == "faults":
            if client is None:
                raise CommandError("faults are switched on the running servers: start `manage.py sandbox serve`")
            if options["clear"]:
                return client.clear_faults(instance_id, options["system"])
            if options["config"] is None:
                return client.faults(instance_id, options["system"])
            try:
                config = json.loads(options["config"])
            except ValueError as exc:
                raise CommandError(f"fault configuration is not valid JSON: {exc}") from exc
            return client.faults(instance_id, options["system"], config, merge=options["merge"])
        if action == "create":
            if client:
                return client.create(erp=options["erp"], size=options["size"], instance_id=instance_id,
                                     tenant=options["tenant"], rng_seed=options["rng_seed"])["instance"]
            return hub.create(erp=options["erp"], size=options["size"], instance_id=instance_id,
                              tenant=options["tenant"], rng_seed=options["rng_seed"]).public()
        if action == "list":
            return client.instances() if client else [i.public() for i in hub.list()]
        if action == "inspect":
            return client.inspect(instance_id) if client else hub.inspect(instance_id)
        if action == "connections":
            if client is None:
                raise CommandError("connection URLs come from the running servers: start `manage.py sandbox serve`")
            return client.connections(instance_id)
        if action == "reseed":
            return client.reseed(instance_id, options["size"]) if client else hub.reseed(
                instance_id, size=options["size"]).public()
        if action == "delete":
            client.delete(instance_id) if client else hub.delete(instance_id)
            self.stdout.write(f"deleted {instance_id}")
        return None
