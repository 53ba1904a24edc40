"""The company's customers and vendors as the shared parties a Kashflow sandbox is seeded with."""

from __future__ import annotations

import sqlite3

from integrations.core.sandbox import SharedParty


def parties(conn: sqlite3.Connection) -> list[SharedParty]:
    """AR customers and AP vendors as the pair's shared parties (code ``01-ABF``, ``00-AIRWAYS``)."""
    found = []
    for kind, table, division in (("customer", "AR_Customer", "ARDivisionNo"), ("supplier", "AP_Vendor",
                                                                               "APDivisionNo")):
        number, name = ("CustomerNo", "CustomerName") if kind == "customer" else ("VendorNo", "VendorName")
        rows = conn.execute(
            f"SELECT {division}, {number}, {name}, AddressLine1, AddressLine2, AddressLine3, City, State, ZipCode, "  # noqa: S608
            f"EmailAddress, TelephoneNo FROM {table} ORDER BY {division}, {number}").fetchall()
        for div, no, label, line1, line2, line3, city, state, zipcode, email, phone in rows:
            town = ", ".join(part for part in (city, state) if part)
            lines = [part for part in (line1, line2, line3, town) if part]
            found.append(SharedParty(code=f"{div}-{no}", name=label, kind=kind, address_lines=lines,
                                     postcode=zipcode or "", country="US", currency="USD", email=email or "",
                                     phone=phone or ""))
    return found
