"""Sage 100 (MAS 90/200): read over ODBC (odbc.py), write through the Ledgerbridge agent (agent_client.py, agent/).

The agent is the on-premises service that drives Sage's Business Object Interface; sandbox/ is the emulated ABC
company it serves in the sandbox. Facts: the research notes' sage100.md; behaviour: docs/sandbox/sage100.md.
"""
