"""Selectors that turn a Connection row into a protocol client.

The same client code talks to a sandbox or a real system: only the stored endpoint URL differs.
"""

from __future__ import annotations

from integrations.core.errors import ConfigurationError
from integrations.sync.models import Connection, System


def _session(gate):
    """A session that meters every request through the connection's shared limits (or a plain one).

    Without proxies in the environment, requests is told not to re-read the environment on every request (a
    large share of a small request's cost); with proxies, it keeps doing so, so no_proxy is honoured."""
    import os
    import urllib.request

    import requests

    from integrations.sync.limits import GatedSession

    session = GatedSession(gate) if gate is not None else requests.Session()
    if not urllib.request.getproxies():
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


def kashflow_client_for(connection: Connection, *, gate=None):
    from integrations.kashflow.client import KashflowClient

    _expect(connection, System.KASHFLOW)
    return KashflowClient(
        connection.base_url, connection.username, str(connection.password or ""),
        str(connection.memorable_word or ""),
        timeout=float(connection.settings.get("timeout", 30)), session=_session(gate),
    )


def ax_client_for(connection: Connection, *, gate=None):
    from integrations.dynamics_ax.aif_client import AifClient

    _expect(connection, System.DYNAMICS_AX)
    options = connection.settings or {}
    company = options.get("company")
    if not company:
        raise ConfigurationError("The AX connection has no company (legal entity) set", system="Dynamics AX")
    return AifClient(
        connection.base_url, company=company, username=connection.username,
        password=str(connection.password or ""), auth=options.get("auth", "ntlm"),
        wsdl_url=options.get("wsdl_url") or None, timeout=float(options.get("timeout", 60)),
        session=_session(gate),
    )


def sage_agent_client_for(connection: Connection, *, gate=None):
    from integrations.sage100.agent_client import AgentClient

    _expect(connection, System.SAGE100)
    return AgentClient(connection.base_url, str(connection.password or ""),
                       timeout=float(connection.settings.get("timeout", 120)), session=_session(gate))


def client_for(connection: Connection, *, gate=None):
    factories = {System.KASHFLOW: kashflow_client_for, System.DYNAMICS_AX: ax_client_for,
                 System.SAGE100: sage_agent_client_for}
    try:
        factory = factories[connection.system]
    except KeyError:
        raise ConfigurationError(f"{connection.get_system_display()} connections are not supported yet",
                                 system=connection.get_system_display()) from None
    return factory(connection, gate=gate)


def _expect(connection: Connection, system: str) -> None:
    if connection.system != system:
        raise ConfigurationError(f"Connection {connection.name!r} is not a {System(system).label} connection")
