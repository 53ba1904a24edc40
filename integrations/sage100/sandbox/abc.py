"""The ABC demo company ("ABC Distribution and Service Corp."), as far as public sources show it, and the rest.

Observed (reference §4.1, sage-samples/abc_demo_observed.json): the company name, customer 01-ABF American
Business Futures with its balances and two contacts, its order and quote numbers, quote 0000304's lines, items
1001-HON-H252, 1001-HON-H254, 6650-26-16-11, 6655 and 8983 with their prices, warehouses 000 and 001,
salesperson 01-0100, terms "Net 30 Days", ship-via "UPS RED"/"UPS BLUE", S/O invoice 0100058.

Invented (no public source; listed in docs/sandbox/sage100.md): division names, the chart of accounts (in the
``###-##-##`` form, AccountKey a 9-digit surrogate), terms codes other than Net 30's description, payment types,
warehouse names, salespeople other than 0100, every other customer, vendor and item.
"""

from __future__ import annotations

from decimal import Decimal

D = Decimal

COMPANY = {"CompanyCode": "ABC", "CompanyName": "ABC Distribution and Service Corp.",
           "AddressLine1": "2 Corporate Drive", "City": "Milwaukee", "State": "WI", "ZipCode": "53202",
           "TelephoneNo": "(414) 555-0100", "AllowExternalAccess": "Y"}

# (ARDivisionNo, description): 00/01/02 as the brief asks; names invented.
DIVISIONS = [("00", "Corporate Accounts"), ("01", "Midwest Division"), ("02", "Western Division")]

# (TermsCode, TermsCodeDesc, DaysBeforeDue, DaysBeforeDiscountDue, DiscountRate); only "Net 30 Days" observed.
TERMS = [("00", "C.O.D.", 0, 0, D(0)), ("01", "Net 30 Days", 30, 0, D(0)), ("02", "2% 10 Net 30", 30, 10, D(2)),
         ("03", "Net 15 Days", 15, 0, D(0)), ("04", "Net 60 Days", 60, 0, D(0)),
         ("05", "Due Upon Receipt", 0, 0, D(0))]

# (SalespersonDivisionNo, SalespersonNo, name); 01-0100 observed, names invented.
SALESPEOPLE = [("00", "0100", "House Account"), ("01", "0100", "Jim Kentley"), ("01", "0200", "Mary Olsen"),
               ("02", "0100", "Ron Castillo"), ("02", "0200", "Ann Whitfield")]

# (WarehouseCode, WarehouseDesc, city, state, zip): codes observed, the rest invented.
WAREHOUSES = [("000", "Central Warehouse", "Milwaukee", "WI", "53204"),
              ("001", "East Warehouse", "Racine", "WI", "53120"),
              ("002", "West Warehouse", "Irvine", "CA", "92614")]

# G/L chart, ###-##-##: (Account, AccountDesc, AccountType per GL_AccountType 01-18, Status).
CHART = [
    ("100-00-00", "Cash in Bank - Operating", "01", "A"), ("101-00-00", "Cash in Bank - Payroll", "01", "A"),
    ("102-00-00", "Petty Cash", "01", "A"), ("110-00-00", "Accounts Receivable", "02", "A"),
    ("115-00-00", "Allowance for Doubtful Accounts", "02", "A"), ("120-00-00", "Inventory", "04", "A"),
    ("125-00-00", "Prepaid Expenses", "05", "A"), ("150-00-00", "Furniture and Equipment", "06", "A"),
    ("155-00-00", "Accumulated Depreciation", "06", "A"), ("199-00-00", "Old Clearing Account", "06", "I"),
    ("200-00-00", "Accounts Payable", "07", "A"), ("210-00-00", "Sales Tax Payable", "07", "A"),
    ("215-00-00", "Accrued Payroll", "07", "A"), ("250-00-00", "Notes Payable - Long Term", "08", "A"),
    ("300-00-00", "Common Stock", "09", "A"), ("320-00-00", "Retained Earnings", "10", "A"),
    ("400-00-00", "Sales", "11", "A"), ("400-01-00", "Sales - Midwest", "11", "A"),
    ("400-02-00", "Sales - Western", "11", "A"), ("405-00-00", "Service Revenue", "11", "A"),
    ("410-00-00", "Freight Income", "11", "A"), ("420-00-00", "Sales Discounts", "11", "A"),
    ("430-00-00", "Sales Returns and Allowances", "11", "A"), ("500-00-00", "Cost of Goods Sold", "12", "A"),
    ("500-01-00", "Cost of Goods Sold - Midwest", "12", "A"), ("500-02-00", "Cost of Goods Sold - Western", "12", "A"),
    ("510-00-00", "Freight-In", "12", "A"), ("520-00-00", "Purchase Discounts", "12", "A"),
    ("600-00-00", "Salaries and Wages", "13", "A"), ("610-00-00", "Rent", "13", "A"),
    ("615-00-00", "Utilities", "13", "A"), ("620-00-00", "Telephone", "13", "A"),
    ("625-00-00", "Office Supplies", "13", "A"), ("630-00-00", "Advertising", "13", "A"),
    ("640-00-00", "Travel and Entertainment", "13", "A"), ("650-00-00", "Insurance", "13", "A"),
    ("660-00-00", "Repairs and Maintenance", "13", "A"), ("670-00-00", "Depreciation Expense", "13", "A"),
    ("680-00-00", "Bank Charges", "13", "A"), ("700-00-00", "Interest Expense", "14", "A"),
    ("750-00-00", "Other Income", "16", "A"), ("800-00-00", "Income Taxes", "17", "A"),
]
# AccountKey is a surrogate assigned as accounts are created: here, the position in CHART, zero-filled to nine.
ACCOUNT_KEYS = {account: str(n).zfill(9) for n, (account, *_rest) in enumerate(CHART, 1)}

# (PaymentType, PaymentDesc, PaymentMethod C/R/O, Account of the asset G/L); all invented.
PAYMENT_TYPES = [("CASH", "Cash", "C", "102-00-00"), ("CHECK", "Check", "C", "100-00-00"),
                 ("VISA", "Visa", "R", "100-00-00"), ("MC", "MasterCard", "R", "100-00-00"),
                 ("AMEX", "American Express", "R", "100-00-00"), ("ACH", "ACH Transfer", "O", "100-00-00")]

# SY_User rows: (UserKey, UserCode, UserLogon, FirstName, LastName); invented. The agent's user is added at seeding.
USERS = [("0000000001", "ADM", "admin", "System", "Administrator"), ("0000000002", "MWO", "mary.wilson", "Mary",
                                                                                        "Wilson")]
AGENT_USER_KEY = "0000000003"

ABF = {
    "ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerName": "American Business Futures",
    "AddressLine1": "2131 N. 14th Street", "AddressLine2": "Suite 100", "AddressLine3": "Accounting Department",
    "City": "Milwaukee", "State": "WI", "ZipCode": "53205-1204", "CountryCode": "USA",
    "TelephoneNo": "(414) 555-4787", "EmailAddress": "artie@sage.sample.com", "CreditLimit": D("120000.00"),
    "TermsCode": "01", "SalespersonDivisionNo": "01", "SalespersonNo": "0100", "ShipMethod": "UPS RED",
    "ContactCode": "ARTIE JOHN", "DateEstablished": "2019-01-01", "DefaultPaymentType": "CHECK",
}
# Observed open balance and its ageing: current, then 31-60 and 61-90 days.
ABF_OPEN_INVOICES = [(10, D("772.40")), (40, D("1222.58")), (70, D("1257.40"))]
ABF_CONTACTS = [
    {"ContactCode": "ARTIE JOHN", "ContactName": "Artie Johnson", "AddressLine1": "2131 E. 14th Street",
     "AddressLine2": "Suite 100", "AddressLine3": "Accounting Department", "City": "New Berlin", "State": "WI",
     "ZipCode": "53151", "TelephoneNo1": "(714) 555-7823", "EmailAddress": "artie@sage.sample.com"},
    {"ContactCode": "JOHN QUINN", "ContactName": "John Quinn", "AddressLine1": "2131 E. 14th Street",
     "AddressLine2": "Suite 100", "AddressLine3": "Service Department", "City": "Milwaukee", "State": "WI",
     "ZipCode": "53151", "TelephoneNo1": "(714) 555-7823", "EmailAddress": "john@sage.sample.com"},
]
# ABF's documents: (SalesOrderNo, OrderType, OrderStatus, [(ItemCode, qty, price)], discount, tax).
ABF_ORDERS = [
    ("0000115", "S", "O", [("1001-HON-H252", 100, D("86.00"))], D("860.00"), D("116.10")),
    ("0000171", "S", "O", [("8983", 2, D("40.74"))], D(0), D(0)),
    *[(f"{n:07}", "S", "O", [("6650-26-16-11", 1, D("185.54"))], D(0), D(0)) for n in range(272, 279)],
    ("0000304", "Q", "O", [("6650-26-16-11", 4, D("259.00")), ("6655", 4, D("179.00"))], D(0), D(0)),
    ("0000332", "Q", "N", [], D(0), D(0)), ("0000333", "Q", "N", [], D(0), D(0)),
    ("0000336", "Q", "N", [("8983", 1, D("120.00"))], D(0), D(0)),
    ("0000337", "Q", "N", [("1001-HON-H254", 4, D("131.00")), ("6655", 2, D("186.00"))], D(0), D(0)),
]
# Other ABF standard orders seen, details unknown: invented lines whose totals bring ABF's open order amount to
# the observed 19,144.40. Quote 0000338 was seen too (lines invented).
ABF_OTHER_ORDERS = ["0000181", "0000184", *[f"{n:07}" for n in range(294, 304)], "0000307", "0000310", "0000331",
                    "0000340", "0000341"]
ABF_OTHER_QUOTES = ["0000338"]
ABF_OPEN_ORDER_AMT = D("19144.40")
ABF_SO_INVOICE = "0100058"  # an S/O invoice of ABF's [S24]

# Items: (ItemCode, ItemCodeDesc, StandardUnitPrice, ProductLine); the first five observed.
OBSERVED_ITEMS = [
    ("1001-HON-H252", "HON 2 DRAWER LETTER FLE W/O LK", D("84.00"), "FILE"),
    ("1001-HON-H254", "HON 4 DRAWER LETTER FLE W/O LK", D("131.00"), "FILE"),
    ("6650-26-16-11", 'SOUND CVR 26"W 16"D 11"H DM', D("259.00"), "ACCS"),
    ("6655", "PRINTER STAND W/ BASKET", D("179.00"), "ACCS"),
    ("8983", "2.5 320GB External Portable", D("41.59"), "COMP"),
]
# Miscellaneous and charge items ("/" codes, ItemType 5 and 3); invented.
MISC_ITEMS = [("/FREIGHT", "Freight charge", "5", "410-00-00"), ("/SERVICE", "Service labor", "3", "405-00-00")]
# Generated item families: (code prefix, descriptions, price range, ProductLine).
ITEM_FAMILIES = [
    ("1001", ["FILE CABINET 2 DRW LEGAL", "FILE CABINET 4 DRW LEGAL", "LATERAL FILE 3 DRW", "STORAGE CABINET 72IN"],
     (80, 420), "FILE"),
    ("2400", ["DESK 60X30 WALNUT", "DESK 72X36 OAK", "RETURN 48X24 GRAY", "CONFERENCE TABLE 96IN"], (240, 1400),
     "FURN"),
    ("2480", ["TASK CHAIR MESH BACK", "EXECUTIVE CHAIR LEATHER", "GUEST CHAIR STACKING", "DRAFTING STOOL"],
     (65, 640), "FURN"),
    ("5100", ["TONER CARTRIDGE BLACK", "TONER CARTRIDGE COLOR", "INK CARTRIDGE TRI-COLOR", "DRUM UNIT"], (28, 190),
     "SUPL"),
    ("3300", ["COPY PAPER 8.5X11 CASE", "LEGAL PAD 12 PK", "BINDER 3IN 6 PK", "FILE FOLDERS 100 BX"], (9, 58),
     "SUPL"),
    ("7700", ["LASER PRINTER MONO", "COLOR LASER PRINTER", "DOCUMENT SCANNER", "LABEL PRINTER"], (110, 1250),
     "COMP"),
    ("8950", ["USB FLASH DRIVE 64GB", "EXTERNAL DRIVE 2TB", "WIRELESS MOUSE", "KEYBOARD WIRELESS"], (12, 140),
     "COMP"),
    ("6600", ["MONITOR ARM DUAL", "FOOTREST ADJUSTABLE", "DESK LAMP LED", "CABLE MANAGEMENT TRAY"], (18, 230),
     "ACCS"),
]
PRODUCT_LINE_ACCOUNTS = {"FILE": "400-00-00", "FURN": "400-00-00", "SUPL": "400-00-00", "COMP": "400-00-00",
                         "ACCS": "400-00-00"}

# Customer name pools (invented) and towns by division: (City, State, ZIP prefix).
NAME_PREFIXES = ["Lakeshore", "Prairie", "Summit", "Harbor", "Keystone", "Pioneer", "Badger", "Gateway", "Heartland",
                 "Cascade", "Liberty", "Evergreen", "Granite", "Riverside", "Northwind", "Maple"]
NAME_SUFFIXES = ["Office Supply", "Dental Group", "Law Offices", "Realty", "Manufacturing Co.", "Insurance Agency",
                 "Medical Center", "Engineering", "Accounting Services", "Printing", "Logistics", "School District",
                 "Construction", "Design Studio", "Auto Parts", "Veterinary Clinic"]
STREETS = ["Main Street", "Oak Avenue", "Commerce Drive", "Industrial Parkway", "Lake Street", "Market Street",
           "Park Avenue", "Washington Boulevard", "Highland Road", "River Road"]
TOWNS = {
    "01": [("Milwaukee", "WI", "532"), ("Madison", "WI", "537"), ("Racine", "WI", "534"), ("Green Bay", "WI", "543"),
           ("Chicago", "IL", "606"), ("Minneapolis", "MN", "554"), ("Des Moines", "IA", "503"),
           ("Detroit", "MI", "482"), ("Indianapolis", "IN", "462"), ("Columbus", "OH", "432")],
    "02": [("Denver", "CO", "802"), ("Phoenix", "AZ", "850"), ("Seattle", "WA", "981"), ("Portland", "OR", "972"),
           ("Sacramento", "CA", "958"), ("Irvine", "CA", "926"), ("Salt Lake City", "UT", "841"),
           ("Boise", "ID", "837")],
    "00": [("Milwaukee", "WI", "532"), ("Chicago", "IL", "606")],
}
FIRST_NAMES = ["Linda", "Robert", "Karen", "David", "Susan", "Michael", "Nancy", "Thomas", "Lisa", "Paul", "Donna",
               "Mark", "Carol", "Steven", "Julie", "Brian"]
LAST_NAMES = ["Anderson", "Kowalski", "Nguyen", "Schultz", "Garcia", "Peterson", "Brooks", "Larsen", "Rivera",
              "Hoffman", "Patel", "Murphy"]
SHIP_VIA = ["UPS RED", "UPS BLUE", "UPS GROUND", "FEDEX", "BEST WAY", "WILL CALL"]

# Vendors (APDivisionNo 00): (VendorNo, VendorName, City, State, ZIP, TermsCode, expense Account); invented.
VENDORS = [
    ("AIRWAYS", "Airways Freight Services", "Milwaukee", "WI", "53207", "01", "510-00-00"),
    ("CAPFURN", "Capital Furniture Manufacturing", "Grand Rapids", "MI", "49503", "02", "120-00-00"),
    ("COMPDIS", "Compu-Distributors Inc.", "Schaumburg", "IL", "60173", "01", "120-00-00"),
    ("MIDPAPR", "Midwest Paper Products", "Appleton", "WI", "54911", "01", "120-00-00"),
    ("LAKEELE", "Lakeshore Electric Supply", "Kenosha", "WI", "53140", "03", "660-00-00"),
    ("OFFPROD", "Office Products Wholesale", "Chicago", "IL", "60607", "02", "120-00-00"),
    ("BADGERP", "Badger Printing & Forms", "Madison", "WI", "53703", "01", "625-00-00"),
    ("CITYUTL", "City Utilities", "Milwaukee", "WI", "53202", "05", "615-00-00"),
    ("STATEIN", "State Insurance Group", "Wauwatosa", "WI", "53226", "01", "650-00-00"),
    ("WESTTEL", "Westside Telecom", "Brookfield", "WI", "53005", "01", "620-00-00"),
    ("PRMLEAS", "Premier Equipment Leasing", "Waukesha", "WI", "53186", "01", "610-00-00"),
    ("CASCADE", "Cascade Office Interiors", "Tacoma", "WA", "98402", "04", "120-00-00"),
]
