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

# Sage 100 sales G/L accounts (formatted, ABC demo chart) -> Kashflow sales nominal codes, for the products
# sage_products_to_kashflow writes (the reverse of KASHFLOW_TO_SAGE_GL); unmapped accounts go to the default.
SAGE_TO_KASHFLOW_NOMINAL = {
    "400-00-00": 4000,  # Sales -> Sales
    "400-01-00": 4000,  # Sales - Midwest -> Sales
    "400-02-00": 4000,  # Sales - Western -> Sales
    "405-00-00": 4001,  # Service Revenue -> Sales - Design services
    "410-00-00": 4905,  # Freight Income -> Distribution and Carriage
    "420-00-00": 4009,  # Sales Discounts -> Discounts
    "750-00-00": 4900,  # Other Income -> Other income
}
KASHFLOW_DEFAULT_SALES_NOMINAL = 4000  # products whose Sage sales account is not mapped

# Kashflow's UK chart (the sandbox seed's: balance sheet, purchases, overheads, plus the sales codes above) ->
# AX USMF-style main accounts (reference/dynamics-ax.md §7.2), for purchases and journals posted to AX.
KASHFLOW_TO_AX_LEDGER = {
    **KASHFLOW_TO_AX_GL,
    "30": "180100", "31": "180200", "50": "180100", "51": "180200",  # fixed assets / accumulated depreciation
    "1001": "140200", "1100": "130100", "1103": "132190",  # stock, debtors control, prepayments
    "1200": "110150", "1210": "110150", "1230": "110180",  # bank (GBP), deposit, petty cash
    "2100": "200100", "2109": "200110",  # creditors control, accruals
    "2200": "222200", "2201": "130800", "2202": "222200",  # VAT on sales, VAT on purchases, VAT liability
    "2210": "201100", "2211": "201100", "2230": "201100",  # PAYE, NI, pensions -> wages payable
    "2300": "250100", "2310": "250100", "3000": "300110", "3200": "300160", "3260": "300160",
    "4200": "403150", "4902": "403150",
    "5000": "500100", "5100": "500100", "5101": "500100", "6002": "500100",  # cost of sales
    "6100": "601200", "6201": "601300",  # commissions, advertising
    "7000": "602100", "7006": "602100",  # wages
    "7100": "605150", "7102": "605150", "7103": "605150", "7104": "605150", "7801": "605150", "7803": "605150",
    "7200": "618900", "7201": "618900",  # utilities
    "7300": "601500", "7303": "601500", "7304": "601500", "7400": "601500", "7401": "601500", "7402": "601500",
    "7403": "601500",
    "7500": "606300", "7501": "606300", "7502": "606300", "7504": "606300", "7505": "606300",  # office
    "7600": "618900", "7601": "618900", "7603": "618900", "7900": "618900",  # fees, bank charges
    "8000": "607200",  # depreciation
    "8201": "606300", "8202": "618900", "8203": "618900", "8204": "618900", "8205": "618900", "9999": "618900",
}
AX_PURCHASE_VAT_ACCOUNT = "130800"  # VAT Tax Receivable: Kashflow's "VAT on Purchases" (2201)
# The AX bank account customer receipts from Kashflow are paid into (BANKACCOUNTTABLE.ACCOUNTID; AX demo data
# names the operating account "<company> OPER"), and the customer payment journal name (type CustPayment).
AX_DEFAULT_BANK_ACCOUNT = "GBSI OPER"
AX_PAYMENT_JOURNAL_NAME = "CustPay"

# Kashflow's UK chart (purchases, overheads, balance sheet, plus the sales codes above) -> Sage 100 G/L accounts
# of the ABC demo chart (formatted ###-##-##), for purchases and journals posted to Sage.
KASHFLOW_TO_SAGE_LEDGER = {
    **KASHFLOW_TO_SAGE_GL,
    "30": "150-00-00", "31": "155-00-00", "50": "150-00-00", "51": "155-00-00",  # fixed assets, depreciation
    "1001": "120-00-00", "1100": "110-00-00", "1103": "125-00-00",  # stock, debtors control, prepayments
    "1200": "100-00-00", "1210": "100-00-00", "1230": "102-00-00",  # bank, deposit, petty cash
    "2100": "200-00-00", "2109": "215-00-00",  # creditors control, accruals
    "2200": "210-00-00", "2201": "210-00-00", "2202": "210-00-00",  # VAT on sales / on purchases / liability
    "2210": "215-00-00", "2211": "215-00-00", "2230": "215-00-00",  # PAYE, NI, pensions
    "2300": "250-00-00", "2310": "250-00-00", "3000": "300-00-00", "3200": "320-00-00", "3260": "320-00-00",
    "4200": "750-00-00", "4902": "750-00-00",
    "5000": "500-00-00", "5100": "510-00-00", "5101": "510-00-00", "6002": "500-00-00",  # cost of sales
    "6100": "600-00-00", "6201": "630-00-00", "7000": "600-00-00", "7006": "600-00-00",  # commissions, wages
    "7100": "610-00-00", "7102": "610-00-00", "7103": "610-00-00", "7104": "650-00-00",  # premises
    "7200": "615-00-00", "7201": "615-00-00",  # utilities
    "7300": "640-00-00", "7303": "650-00-00", "7304": "640-00-00", "7400": "640-00-00", "7401": "640-00-00",
    "7402": "640-00-00", "7403": "640-00-00",  # motor and travel
    "7500": "625-00-00", "7501": "625-00-00", "7502": "620-00-00", "7504": "625-00-00", "7505": "625-00-00",
    "7600": "680-00-00", "7601": "680-00-00", "7603": "680-00-00", "7801": "660-00-00", "7803": "660-00-00",
    "7900": "680-00-00", "8000": "670-00-00",
    "8201": "680-00-00", "8202": "680-00-00", "8203": "680-00-00", "8204": "680-00-00", "8205": "680-00-00",
    "9999": "680-00-00",
}
SAGE_PURCHASE_TAX_ACCOUNT = "210-00-00"  # where a purchase's VAT is distributed (ABC has no input-VAT account)
SAGE_DEFAULT_PAYMENT_TYPE = "CHECK"  # AR_PaymentType for Kashflow payment methods not in payment_methods
SAGE_DEFAULT_BANK_CODE = "A"  # AR cash receipts bank code for Kashflow bank accounts not in bank_accounts

# Summarised posting (kashflow_summary_to_ax / _to_sage): the control accounts of the journal. Invoices debit the
# AR control and credit the VAT output account of their tax code (Kashflow's VAT rate, "20"); receipts debit the
# bank account mapped from the Kashflow bank account id (AccountId, optionally "<id>/<currency>").
AX_SUMMARY_AR_ACCOUNT = "130100"  # Accounts Receivable - Domestic
AX_SUMMARY_TAX_ACCOUNTS = {"20": "222200", "5": "222200"}  # VAT Tax Payable
AX_SUMMARY_BANK_ACCOUNTS = {"1": "110150", "1/EUR": "110130"}  # Bank Account - GBP / - EUR
AX_SUMMARY_JOURNAL_NAME = "GenJrn"  # a journal name of type Daily
SAGE_SUMMARY_AR_ACCOUNT = "110-00-00"  # Accounts Receivable
SAGE_SUMMARY_TAX_ACCOUNTS = {"20": "210-00-00", "5": "210-00-00"}  # Sales Tax Payable
SAGE_SUMMARY_BANK_ACCOUNTS = {"1": "100-00-00"}  # Cash in Bank - Operating

# Kashflow VAT rate (VATLevel, "exempt" for VAT-exempt lines) -> the AX sales tax group and item sales tax group
# of a free-text invoice line (kashflow_invoices_to_ax); AX computes the tax from them. Groups as the AX sandbox
# seeds them (integrations/dynamics_ax/sandbox/seed.py TAX_GROUPS / TAX_ITEM_GROUPS: "GB" holds VAT20, VAT5, VAT0
# and the exempt VATEX; each item group selects one code).
AX_TAX_GROUPS = {
    "20": {"TaxGroup": "GB", "TaxItemGroup": "STD"},
    "5": {"TaxGroup": "GB", "TaxItemGroup": "RED"},
    "0": {"TaxGroup": "GB", "TaxItemGroup": "ZERO"},
    "exempt": {"TaxGroup": "GB", "TaxItemGroup": "EXEMPT"},
}
