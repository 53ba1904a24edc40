"""The Ledgerbridge agent for Sage 100: the on-premises bridge that applies writes through BOI.

Ledgerbridge reads Sage 100 over ODBC and writes through this agent, which runs next to Sage on Windows, holds
the Sage user and company, and drives the Business Object Interface. It answers an authenticated JSON API
(app.py), applies batches of operations in order, and keeps a table of applied idempotency keys (keys.py) so a
retried operation is answered again, never applied twice. Backends: ``boi`` (COM, Windows) and ``emulated``
(the sandbox's SQLite company).
"""
