"""Metadata: zeep builds a client from the served ?wsdl for every service; addresses follow the mount prefix."""

from __future__ import annotations

import pytest
import requests
from lxml import etree
from zeep import Client, Settings
from zeep.transports import Transport

from integrations.core.wsgi import Mount, ServerThread
from integrations.dynamics_ax import wsdl as axwsdl
from integrations.dynamics_ax.sandbox import SYSTEM

from .conftest import PORT_PATH

NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
      "xs": "http://www.w3.org/2001/XMLSchema"}
SERVICES = {name: spec.operations for name, spec in axwsdl.SERVICE_CATALOG.items()}


def zeep_client(instance, url: str | None = None) -> Client:
    session = requests.Session()
    session.auth = (instance.credentials["username"], instance.credentials["password"])
    return Client((url or instance.endpoint) + "?wsdl", transport=Transport(session=session),
                  settings=Settings(strict=False))


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_zeep_builds_every_service_from_the_served_wsdl(instance, service) -> None:
    client = zeep_client(instance)
    proxy = client.bind(SYSTEM_PORT, f"BasicHttpBinding_{service}")
    binding = proxy._binding
    assert sorted(binding.all()) == sorted(SERVICES[service])
    for operation in SERVICES[service]:
        soap_operation = binding.get(operation)
        assert soap_operation.soapaction == f"{axwsdl.SERVICES_NS}/{service}/{operation}"
        # every operation declares the CallContext header and the AifFault fault
        assert [element.qname.localname for _part, element in soap_operation.input.header.type.elements] == [
            "CallContext"]
        assert "AifFaultFault" in soap_operation.faults


SYSTEM_PORT = "LedgerbridgeServices"


def test_mounted_instance_hands_out_addresses_with_its_prefix(instance) -> None:
    mount = Mount(lambda name: instance.app if name == "acme-1" else None)
    with ServerThread(mount) as server:
        base = f"{server.url}/acme-1{PORT_PATH}"
        auth = (instance.credentials["username"], instance.credentials["password"])
        root = etree.fromstring(requests.get(base + "?wsdl", auth=auth, timeout=10).content)
        assert root.find(".//wsdl:service/wsdl:port/soap:address", NS).get("location") == base
        assert root.find("wsdl:import", NS).get("location") == base + "?wsdl=wsdl0"
        wsdl0 = etree.fromstring(requests.get(base + "?wsdl=wsdl0", auth=auth, timeout=10).content)
        locations = [node.get("schemaLocation") for node in wsdl0.iterfind(".//xs:import", NS)]
        assert locations and all(location.startswith(base + "?xsd=xsd") for location in locations)
        client = zeep_client(instance, base)  # the whole import chain resolves through the mount
        service = client.bind(SYSTEM_PORT, "BasicHttpBinding_CustomerService")
        assert service._binding_options["address"] == base
        assert requests.get(f"{server.url}/other{PORT_PATH}?wsdl", auth=auth, timeout=10).status_code == 404


def test_every_served_schema_parses_and_documents_compile(instance) -> None:
    auth = (instance.credentials["username"], instance.credentials["password"])
    for index in range(len(instance.app.port.schema_names)):
        response = requests.get(f"{instance.endpoint}?xsd=xsd{index}", auth=auth, timeout=10)
        assert response.status_code == 200
        etree.fromstring(response.content)
    assert requests.get(f"{instance.endpoint}?xsd=xsd999", auth=auth, timeout=10).status_code == 404
    for spec in axwsdl.SERVICE_CATALOG.values():
        assert axwsdl.document_schema(spec.document) is not None


def test_help_page_and_metadata_need_credentials(instance) -> None:
    assert requests.get(instance.endpoint + "?wsdl", timeout=10).status_code == 401
    page = requests.get(instance.endpoint, auth=(instance.credentials["username"], instance.credentials["password"]),
                        timeout=10)
    assert page.status_code == 200 and "You have created a service" in page.text


def test_connection_fields_point_at_the_instance(instance) -> None:
    fields = SYSTEM.connection_fields("http://127.0.0.1:8702/acme-1", instance.folder, instance.credentials)
    assert fields["base_url"] == f"http://127.0.0.1:8702/acme-1{PORT_PATH}"
    assert fields["settings"]["company"] == "GBSI" and fields["settings"]["auth"] == "basic"
    assert fields["settings"]["odbc"] == f"Driver=SQLite3;Database={instance.folder.resolve()}/ax.sqlite3;NoCreat=1"
    assert fields["username"] == instance.credentials["username"]
