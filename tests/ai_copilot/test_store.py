"""The per-tenant model store: signed per schema, versioned, refused when copied or tampered with."""

from __future__ import annotations

import pytest
from django.db import connection

from ai_copilot import store
from ai_copilot.models import StoredModel


class Tiny:
    def __init__(self, value):
        self.value = value


def test_a_saved_model_loads_back_in_its_own_tenant(tenant):
    store.save("anomaly", Tiny(42), inputs_digest="abc", training_rows=7, metrics={"x": 1})
    loaded = store.load("anomaly")
    assert loaded.obj.value == 42
    row = StoredModel.objects.get(scope="anomaly")
    assert row.training_rows == 7 and row.sklearn_version and row.python_version
    assert store.load("anomaly", inputs_digest="abc") is not None
    assert store.load("anomaly", inputs_digest="other") is None  # trained on something else: stale


def test_a_model_from_another_scikit_learn_version_is_not_used(tenant):
    store.save("anomaly", Tiny(1))
    StoredModel.objects.filter(scope="anomaly").update(sklearn_version="0.0.1")
    assert store.load("anomaly") is None


def test_tampered_bytes_are_refused_not_unpickled(tenant):
    store.save("anomaly", Tiny(1))
    row = StoredModel.objects.get(scope="anomaly")
    row.payload = bytes(row.payload).replace(b"Tiny", b"Tinz")
    row.save()
    with pytest.raises(store.ModelRefused):
        store.load("anomaly")


def test_a_row_copied_into_another_tenant_is_refused(tenant, use_tenant):
    store.save("anomaly", Tiny(5))
    row = StoredModel.objects.values("scope", "format", "sklearn_version", "python_version", "payload", "signature",
                                     "inputs_digest", "training_rows", "metrics", "trained_at").get(scope="anomaly")
    use_tenant("beta")
    StoredModel.objects.filter(scope="anomaly").delete()
    StoredModel.objects.create(**row)
    with pytest.raises(store.ModelRefused):
        store.load("anomaly")
    StoredModel.objects.filter(scope="anomaly").delete()


def test_the_store_refuses_the_public_schema(db):
    connection.set_schema_to_public()
    with pytest.raises(RuntimeError):
        store.save("anomaly", Tiny(1))
