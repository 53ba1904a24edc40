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
