"""Co-pilot tests inside a tenant: a Kashflow -> AX flow whose charts are fixed lists (no sandbox needed)."""

from __future__ import annotations

import pytest

from ai_copilot import charts
from ai_copilot.accounts import Account
from integrations.sync.models import Connection, Flow
from mapping import versions

SOURCES = [
    Account("4000", "Sales", "Turnover"), Account("4001", "Sales - Design services", "Turnover"),
    Account("4009", "Discounts", "Turnover"), Account("4900", "Other income", "Turnover"),
    Account("7502", "Telephone", "Expenditure"), Account("7901", "Bank Charges & Interest", "Expenditure"),
    Account("1200", "Bank Current Account", "Current Asset/Liability"),
    Account("8001", "Dep'n - Office Equipment", "Expenditure"),
]
TARGETS = [
    Account("401100", "Product Sales", "1"), Account("401200", "Service Revenue", "1"),
    Account("403300", "Customer Cash Discounts", "1"), Account("403150", "Miscellaneous Charges", "1"),
    Account("606300", "Office Expense", "2"), Account("607200", "Depreciation - Tangible", "2"),
    Account("618900", "Miscellaneous Expense", "2"), Account("110110", "Bank Account - USD", "4"),
    Account("110150", "Bank Account - GBP", "4"), Account("601600", "Telephone and Internet", "2"),
    Account("605900", "Bank Fees and Charges", "2"),
]


@pytest.fixture
def gl_flow(tenant, monkeypatch):
    monkeypatch.setattr(charts, "source_accounts", lambda flow: list(SOURCES))
    monkeypatch.setattr(charts, "target_accounts", lambda flow: list(TARGETS))
    monkeypatch.setattr(versions, "live_chart", lambda flow: {a.code: a.name for a in TARGETS})
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="kashflow_invoices_to_ax", name="Invoices to AX", source=kf, target=ax)
    versions.publish(flow, {"gl_accounts": {"4000": "401100", "4001": "401200"}}, note="test start")
    return flow


@pytest.fixture
def admin(make_user):
    return make_user("admin")


