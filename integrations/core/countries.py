"""ISO 3166-1 country codes: alpha-3 (what Dynamics AX and Sage 100 keep) <-> alpha-2 (canonical, Kashflow).

One table for every adapter and the address harmoniser. Countries outside it pass as written, and a flow's
``countries`` mapping rule covers them.
"""

from __future__ import annotations

ISO3_TO_ISO2 = {
    "GBR": "GB", "USA": "US", "IRL": "IE", "FRA": "FR", "DEU": "DE", "NLD": "NL", "BEL": "BE", "ESP": "ES",
    "ITA": "IT", "PRT": "PT", "DNK": "DK", "SWE": "SE", "NOR": "NO", "FIN": "FI", "AUT": "AT", "CHE": "CH",
    "POL": "PL", "CZE": "CZ", "HUN": "HU", "GRC": "GR", "LUX": "LU", "ISL": "IS", "CAN": "CA", "AUS": "AU",
    "NZL": "NZ", "JPN": "JP", "CHN": "CN", "IND": "IN", "SGP": "SG", "HKG": "HK", "ZAF": "ZA", "MEX": "MX",
    "BRA": "BR", "ARE": "AE",
}
ISO2_TO_ISO3 = {iso2: iso3 for iso3, iso2 in ISO3_TO_ISO2.items()}
