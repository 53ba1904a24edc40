"""Tenant isolation at the data level and across the task boundary."""

from django.db import connection

from integrations.sync.models import Connection
from portal.tasks import enqueue_for_tenant, run_in_tenant
from portal.tenants.services import tenant_reactivate, tenant_suspend

SEEN: list[str] = []


def record_schema_and_create(name: str) -> str:
    """A task body used by the tests: notes which schema it ran in and writes a row there."""
    SEEN.append(connection.schema_name)
    Connection.objects.create(name=name, system="kashflow", base_url="http://127.0.0.1:1/v2")
    return connection.schema_name


def test_record_created_in_one_tenant_is_invisible_in_another(use_tenant):
    use_tenant("alpha")
    Connection.objects.create(name="Alpha Kashflow", system="kashflow", base_url="http://127.0.0.1:1/v2")
    assert Connection.objects.filter(name="Alpha Kashflow").exists()
    use_tenant("beta")
    assert not Connection.objects.filter(name="Alpha Kashflow").exists()
    assert Connection.objects.count() == 0


def test_task_for_a_tenant_runs_in_its_schema_and_never_touches_another(use_tenant):
    SEEN.clear()
    use_tenant("beta")  # the worker connection was last left on beta
    result = enqueue_for_tenant("alpha", "tests.portal.test_tenancy.record_schema_and_create", "from task",
                                sync=True)
    assert SEEN == ["alpha"]
    assert connection.schema_name == "beta"  # the caller's schema is put back, not left on alpha
    use_tenant("beta")
    assert not Connection.objects.filter(name="from task").exists()
    use_tenant("alpha")
    assert Connection.objects.filter(name="from task").count() == 1
    assert result  # the task id


def test_public_schema_is_refused_as_task_tenant(db):
    import pytest

    with pytest.raises(ValueError):
        enqueue_for_tenant("public", "tests.portal.test_tenancy.record_schema_and_create", "x")


def test_suspended_tenant_tasks_do_not_run(use_tenant):
    from portal.tenants.models import Tenant

    SEEN.clear()
    connection.set_schema_to_public()
    alpha = Tenant.objects.get(schema_name="alpha")
    tenant_suspend(tenant=alpha, reason="unpaid")
    outcome = run_in_tenant("alpha", "tests.portal.test_tenancy.record_schema_and_create", "while suspended")
    assert outcome == {"skipped": "tenant suspended"}
    assert SEEN == []
    tenant_reactivate(tenant=alpha)
    use_tenant("alpha")
    assert not Connection.objects.filter(name="while suspended").exists()
