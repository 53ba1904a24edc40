"""Defence in depth: scrub anything that looks like a credential from log records.

Code must not log secrets in the first place; this filter catches the accidents (an exception
message quoting a header, a URL with a password) before they reach a handler.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    (re.compile(r"(KfToken|Bearer|Basic|NTLM|Negotiate)\s+[A-Za-z0-9+/=._\-]{8,}", re.I), r"\1 [redacted]"),
    (re.compile(r"((?:pass(?:word)?|memorable_?word|secret|token|api_?key)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+",
                re.I), r"\1[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not kill logging
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
