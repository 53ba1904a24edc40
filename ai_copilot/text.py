"""Account-name normalisation for GL-mapping suggestions.

Why: the same account is written "Dep'n - Motor Vehs", "Motor Vehicles Depreciation" and "Depreciation - Autos"
depending on who set the chart up and on which side of the Atlantic. String similarity only works once those
spellings meet, so names go through three steps, each driven by a documented table below:

1. :data:`SYMBOLS` — symbol forms ("a/c", "w/o", "&", "p&l") become words; apostrophes go ("Dep'n" -> "depn").
2. :data:`ABBREVIATIONS` — bookkeepers' abbreviations become whole words ("depn" -> "depreciation"), and
   :data:`SPELLINGS` folds UK/US spelling ("labour" -> "labor").
3. :data:`CONCEPTS` — UK and US names for the same thing ("debtors", "accounts receivable", "sales ledger")
   add one shared concept token ("receivable"). The original words stay: concepts are added, not substituted,
   so "sales commissions" still says "sales" as well as "revenue".

:func:`normalise` gives the readable form (steps 1-2), :func:`concept_tokens` the word tokens used for word
TF-IDF and the global prior (steps 1-3, stop words dropped, plurals folded), :func:`expanded` the text used for
character n-grams (normalised words plus concept tokens). All three are pure and memoised: charts repeat names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "ABBREVIATIONS", "CONCEPTS", "DOMAIN_WORDS", "SPELLINGS", "STOP_WORDS", "SYMBOLS", "Speller",
    "concept_tokens", "expanded", "normalise", "stem", "words",
]

# Step 1: symbol forms, matched on the lowercased name before punctuation is removed. Order matters: the
# longer forms ("p&l", "f&f") must go before "&".
SYMBOLS: tuple[tuple[str, str], ...] = (
    (r"\bp\s*&\s*l\b", " profit and loss "),
    (r"\bp\s*/\s*l\b", " profit and loss "),
    (r"\bf\s*&\s*f\b", " fixtures and fittings "),
    (r"\bp\s*&\s*m\b", " plant and machinery "),
    (r"\ba\s*/\s*c\b", " account "),
    (r"\ba\s*/\s*cs\b", " accounts "),
    (r"\bw\s*/\s*o\b", " write off "),
    (r"\bo\s*/\s*s\b", " outstanding "),
    (r"\ba\s*/\s*r\b", " accounts receivable "),
    (r"\ba\s*/\s*p\b", " accounts payable "),
    (r"\bb\s*/\s*f\b", " brought forward "),
    (r"\bc\s*/\s*f\b", " carried forward "),
    (r"&", " and "),
    (r"\+", " and "),
    (r"@", " at "),
    (r"['\u2019\u2018`]", ""),  # apostrophes join: "dep'n" -> "depn", "employer's" -> "employers"
)

# Step 2: one token -> its full words. Keys are what remains after step 1 (lowercase, no apostrophes or dots).
# Only abbreviations a bookkeeper would read the same way everywhere; ambiguous ones ("sub", "st") are left out.
ABBREVIATIONS: dict[str, str] = {
    # depreciation, accumulated
    "dep": "depreciation", "depn": "depreciation", "deprn": "depreciation", "depr": "depreciation",
    "deprec": "depreciation", "accum": "accumulated", "accumd": "accumulated",
    # accounts and accountancy
    "ac": "account", "acc": "account", "acct": "account", "accts": "accounts", "accy": "accountancy",
    "accountcy": "accountancy", "acctg": "accounting",
    # expense words
    "exp": "expenses", "exps": "expenses", "expn": "expenses", "expend": "expenditure", "chg": "charges",
    "chgs": "charges", "prov": "provision", "provn": "provision", "wo": "write off",
    # people and payroll
    "sals": "salaries", "sal": "salary", "ni": "national insurance", "nic": "national insurance",
    "nics": "national insurance", "ers": "employers", "ees": "employees", "emp": "employee", "empl": "employee",
    "dirs": "directors", "dir": "director", "contrib": "contributions", "contribs": "contributions",
    "pens": "pension",
    # premises, vehicles, office
    "ins": "insurance", "insur": "insurance", "insce": "insurance", "tel": "telephone", "tele": "telephone",
    "elec": "electricity", "elect": "electricity", "prem": "premises", "maint": "maintenance",
    "mtce": "maintenance", "veh": "vehicle", "vehs": "vehicles", "mv": "motor vehicles", "mtr": "motor",
    "equip": "equipment", "eqpt": "equipment", "eqp": "equipment", "stat": "stationery", "staty": "stationery",
    "stny": "stationery", "advert": "advertising", "advt": "advertising", "adv": "advertising",
    "ent": "entertainment", "entmt": "entertainment", "subs": "subscriptions", "prof": "professional",
    "mgmt": "management", "mgt": "management", "admin": "administration", "misc": "miscellaneous",
    "sund": "sundry", "gen": "general", "comm": "commission", "comms": "commissions", "purch": "purchases",
    "purchs": "purchases", "int": "interest", "recd": "received", "rec": "received", "pd": "paid",
    "ret": "retained", "retd": "retained", "dept": "department", "co": "company", "corp": "corporation",
    "hp": "hire purchase", "wip": "work in progress", "fa": "fixed assets", "lt": "long term",
    "ar": "accounts receivable", "ap": "accounts payable", "cogs": "cost of goods sold", "govt": "government",
    "fx": "foreign exchange", "forex": "foreign exchange", "bal": "balance", "ctrl": "control",
    "cntrl": "control", "cont": "control",
}

# Step 2b: UK/US spelling; both sides of a mapping end up with the same letters.
SPELLINGS: dict[str, str] = {
    "labour": "labor", "amortisation": "amortization", "organisation": "organization", "capitalised":
    "capitalized", "realised": "realized", "unrealised": "unrealized", "programme": "program",
    "cheque": "check", "cheques": "checks", "licence": "license", "licences": "licenses", "defence": "defense",
    "catalogue": "catalog", "favourable": "favorable", "centre": "center", "tyres": "tires",
}

_INPUT_TAX = ("vat on purchases", "input vat", "input tax", "vat recoverable", "vat receivable",
              "sales tax receivable", "vat tax receivable", "purchase tax")
_OUTPUT_TAX = ("vat on sales", "output vat", "output tax", "vat payable", "sales tax payable", "vat tax payable")

# Step 3: concepts. Each row is (concept token, phrases that mean it). Phrases are matched on whole words of the
# normalised name, longest first; a matched phrase adds the concept token. The rows pair UK and US usage
# (debtors / accounts receivable, stock / inventory, turnover / sales / revenue, cost of sales / COGS,
# motor vehicles / autos, wages / payroll, VAT / sales tax, fixtures / furniture, P&L / income statement) and
# a few category words a bookkeeper uses for their members (electricity and gas are utilities).
CONCEPTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("receivable", ("debtors", "debtor", "trade debtors", "accounts receivable", "account receivable",
                    "receivables", "receivable", "sales ledger control", "sales ledger", "customer balances")),
    ("payable", ("creditors", "creditor", "trade creditors", "accounts payable", "account payable", "payables",
                 "payable", "purchase ledger control", "purchase ledger", "supplier balances")),
    ("inventory", ("stock", "stocks", "inventory", "inventories", "raw materials", "finished goods",
                   "work in progress", "goods for resale")),
    ("revenue", ("turnover", "sales", "sale", "revenue", "revenues", "income", "takings", "fees received")),
    ("cogs", ("cost of sales", "cost of sale", "costs of sales", "cost of goods sold", "cost of goods",
              "direct costs", "direct cost", "purchases", "materials purchased", "materials")),
    ("vehicle", ("motor vehicles", "motor vehicle", "vehicles", "vehicle", "motor", "motors", "autos", "auto",
                 "automobile", "automobiles", "car", "cars", "van", "vans", "mileage")),
    ("payroll", ("wages", "wage", "salaries", "salary", "payroll", "gross wages", "gross pay", "staff costs",
                 "remuneration", "labor", "net wages", "net pay", "paye", "national insurance",
                 "employers national insurance", "payroll taxes", "payroll tax", "pension contributions",
                 "employers pensions")),
    ("vat", ("vat", "value added tax", "sales tax", "gst", "tax control", *_INPUT_TAX, *_OUTPUT_TAX)),
    ("inputtax", _INPUT_TAX),
    ("outputtax", _OUTPUT_TAX),
    ("furniture", ("fixtures", "fixture", "fittings", "furniture", "fixtures and fittings",
                   "furniture and fixtures", "furniture and fittings")),
    ("equipment", ("equipment", "machinery", "plant and machinery", "plant", "computers", "computer equipment")),
    ("fixedasset", ("fixed assets", "fixed asset", "tangible", "tangible assets", "property plant and equipment",
                    "freehold property", "leasehold property", "land and buildings", "plant and machinery",
                    "office equipment", "computer equipment", "furniture and fixtures", "fixtures and fittings",
                    "furniture and fittings", "furniture and equipment", "motor vehicles", "company cars")),
    ("profitloss", ("profit and loss", "income statement", "profit loss")),
    ("retainedearnings", ("retained profit", "retained profits", "retained earnings", "profit and loss reserve",
                          "profit and loss account", "revenue reserves", "accumulated profits")),
    ("sharecapital", ("share capital", "capital stock", "common stock", "ordinary shares", "called up share capital",
                      "capital", "paid in capital", "owners equity")),
    ("accounting", ("accountancy", "accounting", "bookkeeping", "audit", "audit fees", "accountants")),
    ("telephone", ("telephone", "telephones", "phone", "phones", "telecoms", "telecommunications", "mobile",
                   "mobiles", "broadband", "internet")),
    ("utilities", ("utilities", "utility", "light and heat", "heat and light", "heating and lighting",
                   "electricity", "gas", "water", "water rates", "power")),
    ("propertytax", ("rates", "general rates", "business rates", "property tax", "property taxes",
                     "council tax")),
    ("travel", ("travel", "travelling", "traveling", "subsistence", "hotels", "hotel", "accommodation",
                "lodging", "airfare", "fares", "car hire", "vehicle hire", "car rental")),
    ("office", ("office", "stationery", "postage", "printing", "books", "office supplies", "office costs")),
    ("entertainment", ("entertainment", "entertaining", "client entertaining", "meals", "hospitality")),
    ("freight", ("carriage", "freight", "delivery", "shipping", "courier", "couriers", "distribution")),
    ("postage", ("postage", "post", "mailing")),
    ("supplies", ("stationery", "office supplies", "supplies", "consumables")),
    ("printing", ("printing", "print", "reproduction")),
    ("legal", ("legal", "solicitors", "lawyers", "attorney")),
    ("professional", ("professional", "consultancy", "consulting", "advisory")),
    ("subscription", ("subscriptions", "subscription", "dues", "memberships", "membership")),
    ("training", ("training", "education", "courses", "staff training")),
    ("repairs", ("repairs", "repair", "maintenance", "renewals", "repairs and renewals")),
    ("clothing", ("clothing", "uniforms", "uniform", "workwear", "protective clothing")),
    ("bank", ("bank", "current account", "deposit account", "bank account", "cash at bank", "cash in bank",
              "checking", "savings")),
    ("pettycash", ("petty cash", "cash float", "cash in hand")),
    ("discount", ("discounts", "discount", "discounts allowed", "discount allowed", "rebates")),
    ("subcontract", ("sub contractors", "subcontractors", "subcontractor", "sub contractor", "subcontract",
                     "sub contract", "contract labor", "outside services")),
    ("baddebt", ("bad debts", "bad debt", "doubtful debts", "doubtful accounts", "bad debt write off")),
    ("loan", ("loans", "loan", "notes payable", "borrowings", "bank loan", "hire purchase", "mortgage")),
    ("owner", ("director", "directors", "shareholder", "shareholders", "officer", "officers", "owner", "owners",
               "partners")),
    ("pension", ("pension", "pensions", "retirement", "401k", "superannuation")),
    ("payrolltax", ("national insurance", "employers national insurance", "payroll taxes", "payroll tax", "paye",
                    "fica", "social security")),
    ("incometax", ("corporation tax", "income tax", "income taxes", "federal income tax", "tax on profits")),
    ("fx", ("exchange rate variance", "exchange difference", "exchange differences", "currency gain",
            "currency loss", "foreign exchange", "exchange gain", "exchange loss", "currency", "exchange")),
    ("suspense", ("suspense", "clearing", "mispostings")),
    ("accrual", ("accruals", "accrual", "accrued expenses", "accrued liabilities", "accrued", "accrued charges")),
    ("prepayment", ("prepayments", "prepayment", "prepaid", "prepaid expenses", "deferred expenses")),
    ("property", ("freehold property", "leasehold property", "land and buildings", "buildings", "building",
                  "property", "land", "leasehold improvements")),
    ("advertising", ("advertising", "marketing", "promotion", "promotions", "publicity")),
    ("cleaning", ("cleaning", "janitorial", "cleaners")),
    ("fuel", ("fuel", "petrol", "diesel", "gasoline")),
    ("computer", ("computer", "computers", "software", "hardware", "it costs", "it")),
    ("misc", ("sundry", "sundries", "miscellaneous", "other", "general", "various", "misc")),
    ("rent", ("rent", "rental", "lease", "leases", "hire")),
    ("depreciation", ("depreciation", "amortization", "accumulated depreciation", "depreciation charge")),
    ("dividend", ("dividends", "dividend", "distributions", "drawings")),
    ("interest", ("interest", "finance charges", "loan interest")),
    ("commission", ("commission", "commissions")),
    ("goodwill", ("goodwill", "intangible", "intangibles")),
)

# Words that carry no meaning for matching on their own (they still count in character n-grams).
STOP_WORDS: frozenset[str] = frozenset({
    "and", "of", "the", "for", "to", "in", "on", "at", "a", "an", "account", "accounts", "ac", "total",
    "expense", "expenses", "expenditure", "cost", "costs", "fee", "fees", "charge", "charges",
})

# Words the tables above know: a typo is corrected towards these (and towards the target chart's own words).
DOMAIN_WORDS: frozenset[str] = frozenset(
    word
    for text in (*ABBREVIATIONS.values(), *SPELLINGS.values(),
                 *(phrase for _concept, phrases in CONCEPTS for phrase in phrases))
    for word in text.split()
)

_SYMBOL_PATTERNS = tuple((re.compile(pattern), replacement) for pattern, replacement in SYMBOLS)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_MAX_PHRASE = max(len(phrase.split()) for _concept, phrases in CONCEPTS for phrase in phrases)
_PHRASE_CONCEPTS: dict[tuple[str, ...], tuple[str, ...]] = {}
for _concept, _phrases in CONCEPTS:
    for _phrase in _phrases:
        _key = tuple(_phrase.split())
        _PHRASE_CONCEPTS[_key] = (*_PHRASE_CONCEPTS.get(_key, ()), _concept)


@lru_cache(maxsize=65536)
def words(name: str) -> tuple[str, ...]:
    """The name's words after symbols, abbreviations and UK/US spelling are resolved (lowercase, no punctuation)."""
    text = str(name or "").lower()
    for pattern, replacement in _SYMBOL_PATTERNS:
        text = pattern.sub(replacement, text)
    out: list[str] = []
    for token in _NON_WORD.split(text):
        if not token:
            continue
        expansion = ABBREVIATIONS.get(token, token)
        out.extend(SPELLINGS.get(word, word) for word in expansion.split())
    return tuple(out)


def normalise(name: str) -> str:
    """The readable normalised form: ``"Dep'n - Motor Vehs"`` -> ``"depreciation motor vehicles"``."""
    return " ".join(words(name))


def stem(word: str) -> str:
    """Fold plurals so "fees"/"fee" and "salaries"/"salary" meet; deliberately light (no full stemmer)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _concepts(tokens: tuple[str, ...]) -> list[str]:
    """Concept tokens for every known phrase in ``tokens`` (longest match at each position wins)."""
    found: list[str] = []
    position = 0
    while position < len(tokens):
        for length in range(min(_MAX_PHRASE, len(tokens) - position), 0, -1):
            concepts = _PHRASE_CONCEPTS.get(tokens[position:position + length])
            if concepts:
                found.extend(concepts)
                # Words inside a matched phrase add nothing more: "water rates" is utilities, not property tax.
                position += length
                break
        else:
            position += 1
    return found


@lru_cache(maxsize=65536)
def concept_tokens(name: str) -> tuple[str, ...]:
    """Word tokens for matching: stemmed words without stop words, plus concept tokens, in order, no repeats."""
    tokens = words(name)
    out: dict[str, None] = {}
    for word in tokens:
        if word not in STOP_WORDS and not word.isdigit():
            out.setdefault(stem(word), None)
    for concept in _concepts(tokens):
        out.setdefault(concept, None)
    return tuple(out)


@lru_cache(maxsize=65536)
def expanded(name: str) -> str:
    """Text for character n-grams: the normalised words followed by the concept tokens not already present."""
    tokens = words(name)
    present = set(tokens)
    extra = [concept for concept in dict.fromkeys(_concepts(tokens)) if concept not in present]
    return " ".join((*tokens, *extra))


class Speller:
    """Corrects a word one edit (insertion, deletion, substitution or swap of neighbours) away from exactly
    the known words, so "Electriciy", "Hoetls" and "STTOCK" meet their accounts. Why symmetric deletes: a word
    and its typo share a one-letter deletion, so a dictionary lookup replaces a scan of the vocabulary.
    Short words (under :attr:`MIN_LENGTH` letters) are left alone: "rent" and "rate" are one edit apart.
    """

    MIN_LENGTH = 5

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self.vocabulary = frozenset(w for w in vocabulary if w.isalpha())
        self._index: dict[str, set[str]] = {}
        for word in self.vocabulary:
            if len(word) >= self.MIN_LENGTH - 1:
                for key in {word, *_deletions(word)}:
                    self._index.setdefault(key, set()).add(word)
        self._cache: dict[str, str] = {}

    def correct(self, word: str) -> str:
        """``word`` itself when known, short or unmatched; else the nearest known word."""
        if word in self.vocabulary or len(word) < self.MIN_LENGTH or not word.isalpha():
            return word
        if word not in self._cache:
            candidates = set(self._index.get(word, ()))
            for key in _deletions(word):
                candidates |= self._index.get(key, set())
            candidates = {c for c in candidates if abs(len(c) - len(word)) <= 1}
            ranked = sorted(candidates, key=lambda c: (c[0] != word[0], abs(len(c) - len(word)), c))
            self._cache[word] = ranked[0] if ranked else word
        return self._cache[word]

    def correct_name(self, name: str) -> str:
        """The normalised name with every word corrected."""
        return " ".join(self.correct(word) for word in words(name))


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}
