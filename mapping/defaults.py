"""Default mappings per flow, used until the tenant edits its own mapping set.

Kashflow's UK sales nominal codes -> AX USMF-style main accounts (reference/dynamics-ax.md §7.2).
"""

KASHFLOW_TO_AX_GL = {
    "4000": "401100",  # Sales -> Product Sales
    "4001": "401200",  # Sales - Design services -> Service Revenue
    "4002": "401100",  # Sales - Print -> Product Sales
    "4009": "403300",  # Discounts -> Customer Cash Discounts
    "4900": "403150",  # Other income -> Miscellaneous Charges
    "4905": "403150",  # Distribution and Carriage -> Miscellaneous Charges
}

AX_DEFAULT_DIMENSIONS = {"BusinessUnit": "001", "Department": "022"}

# Kashflow's UK sales nominal codes -> Sage 100 G/L accounts, as formatted accounts (###-##-##) of the ABC demo
# company's chart the Sage sandbox seeds (integrations/sage100/sandbox/abc.py CHART; invented there, listed in
# docs/sandbox/sage100.md). The flow turns them into Sage's AccountKey surrogates by reading GL_Account over ODBC.
KASHFLOW_TO_SAGE_GL = {
    "4000": "400-00-00",  # Sales -> Sales
    "4001": "405-00-00",  # Sales - Design services -> Service Revenue
    "4002": "400-00-00",  # Sales - Print -> Sales
    "4009": "420-00-00",  # Discounts -> Sales Discounts
    "4900": "750-00-00",  # Other income -> Other Income
    "4905": "410-00-00",  # Distribution and Carriage -> Freight Income
}

SAGE_DEFAULT_DIVISION = "01"  # ARDivisionNo for Kashflow customer codes without a "DD-" division prefix
SAGE_DEFAULT_LINE_ITEM = "/SERVICE"  # miscellaneous charge code each invoice line is written on (ABC's "/SERVICE")
