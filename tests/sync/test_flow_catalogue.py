"""The catalogue is whole: every flow loads, has mapping defaults, valid ends and trigger, and is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.sync.flows import FLOWS
from integrations.sync.models import System

DOCS = Path(__file__).resolve().parents[2] / "docs" / "flows.md"


@pytest.mark.parametrize("key", sorted(FLOWS))
def test_definition_is_complete(key):
    definition = FLOWS[key]
    assert definition.key == key
    assert {definition.source_system, definition.target_system} <= set(System.values) | {"storefront"}
    assert definition.trigger in ("poll", "event", "batch")
    assert definition.spec_class() is not None
    assert isinstance(definition.default_rules(), dict)
    assert all(other in FLOWS and other != key for other in definition.excludes)
    assert definition.name and definition.description


@pytest.mark.parametrize("key", sorted(FLOWS))
def test_every_flow_is_documented(key):
    assert f"`{key}`" in DOCS.read_text(), f"docs/flows.md does not describe {key}"


def test_both_pairs_have_a_catalogue():
    ends = {(d.source_system, d.target_system) for d in FLOWS.values()}
    for erp in (System.DYNAMICS_AX, System.SAGE100):
        assert (System.KASHFLOW, erp) in ends and (erp, System.KASHFLOW) in ends
