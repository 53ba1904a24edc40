"""Kashflow sandbox: the ``{MetaData, Data}`` envelope, page links (absolute, filter-keeping, mount-aware),
``NextPageUrl`` null on the last page, ``page`` / ``perpage`` bounds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from integrations.core.wsgi import Mount, ServerThread
from integrations.kashflow.sandbox import KashflowSandbox

from .conftest import Api, call, error, login

META_KEYS = {"TotalRecords", "FirstPageUrl", "LastPageUrl", "PreviousPageUrl", "NextPageUrl", "TotalAmount",
             "InvoiceLimitReached"}


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_envelope_and_page_links(api: Api) -> None:
    first = api.ok("GET", "invoices?perpage=25")
    meta = first["MetaData"]
    assert set(meta) == META_KEYS and set(first) == {"MetaData", "Data"}
    assert meta["TotalRecords"] == 60 and len(first["Data"]) == 25 and meta["PreviousPageUrl"] is None
    assert meta["FirstPageUrl"].startswith("http://sandbox.test/v2/invoices?")
    assert query(meta["NextPageUrl"]) == {"page": ["2"], "perpage": ["25"]}
    assert query(meta["LastPageUrl"]) == {"page": ["3"], "perpage": ["25"]}
    last = api.ok("GET", meta["LastPageUrl"])
    assert len(last["Data"]) == 10 and last["MetaData"]["NextPageUrl"] is None
    assert query(last["MetaData"]["PreviousPageUrl"])["page"] == ["2"]


@pytest.mark.parametrize("path", ["invoices", "customers", "suppliers", "purchases", "journals", "products",
                                  "products/list", "nominals/4002/products", "bankaccounts/list"])
def test_following_next_page_url_visits_every_record_once(api: Api, path: str) -> None:
    total = api.ok("GET", path)["MetaData"]["TotalRecords"]
    items = list(api.pages(f"{path}?perpage=4"))
    assert total > 0 and len(items) == total and len({i.get("Id", i.get("Number")) for i in items}) == total


def test_page_links_keep_the_callers_filters(api: Api) -> None:
    meta = api.ok("GET", "invoices?statusfilter=paid&sortby=GrossAmount&order=desc&perpage=5")["MetaData"]
    assert query(meta["NextPageUrl"]) == {"statusfilter": ["paid"], "sortby": ["GrossAmount"], "order": ["desc"],
                                          "page": ["2"], "perpage": ["5"]}


def test_page_and_perpage_bounds(api: Api) -> None:
    assert len(api.ok("GET", "invoices")["Data"]) == 50  # the default page size
    error(api.get("invoices?perpage=0"), 400, "InvalidParameter")
    error(api.get("invoices?perpage=1001"), 400, "InvalidParameter")
    error(api.get("invoices?page=0"), 400, "InvalidParameter")
    error(api.get("invoices?page=two"), 400, "InvalidParameter")
    assert len(api.ok("GET", "invoices?perpage=5000&skipperpagevalidation=true")["Data"]) == 60
    beyond = api.ok("GET", "invoices?page=9&perpage=25")
    assert beyond["Data"] == [] and beyond["MetaData"]["NextPageUrl"] is None


def test_an_empty_list_has_one_page(api: Api) -> None:
    meta = api.ok("GET", "invoices?customercode=NOBODY")["MetaData"]
    assert meta["TotalRecords"] == 0 and meta["NextPageUrl"] is None and meta["PreviousPageUrl"] is None
    assert query(meta["LastPageUrl"])["page"] == ["1"] and meta["TotalAmount"] == 0


def test_page_links_carry_the_mount_prefix_in_process(app: KashflowSandbox) -> None:
    mounted = Mount(lambda name: app if name == "acme-1" else None)
    token = login(mounted_app(mounted, "/acme-1"))
    headers = {"Authorization": f"KfToken {token}"}
    page = call(mounted, "GET", "/acme-1/v2/customers?perpage=5", headers=headers).json()
    assert page["MetaData"]["NextPageUrl"].startswith("http://sandbox.test/acme-1/v2/customers?")
    seen, url = [], "/acme-1/v2/customers?perpage=5"
    while url:
        page = call(mounted, "GET", url, headers=headers).json()
        seen += page["Data"]
        url = page["MetaData"]["NextPageUrl"]
    assert len(seen) == 12


def mounted_app(mounted: Mount, prefix: str) -> Any:
    """The Mount seen through a fixed prefix (so the login helper can use /v2 paths)."""
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["PATH_INFO"] = prefix + environ["PATH_INFO"]
        return mounted(environ, start_response)
    return app


@pytest.fixture
def served(app: KashflowSandbox) -> Iterator[str]:
    with ServerThread(Mount(lambda name: app if name == "tenant-7" else None)) as server:
        yield server.url


def test_page_links_carry_the_mount_prefix_over_http(served: str, app: KashflowSandbox) -> None:
    token = login(app)
    session = requests.Session()
    session.headers["Authorization"] = f"KfToken {token}"
    url: str | None = f"{served}/tenant-7/v2/invoices?perpage=20&statusfilter=all"
    numbers: list[int] = []
    while url:
        assert url.startswith(f"{served}/tenant-7/v2/invoices?")
        page = session.get(url, timeout=5).json()
        numbers += [i["Number"] for i in page["Data"]]
        url = page["MetaData"]["NextPageUrl"]
    assert numbers == list(range(1, 61))
    assert session.get(f"{served}/elsewhere/v2/invoices", timeout=5).status_code == 404
