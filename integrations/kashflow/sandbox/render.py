"""JSON out the way Kashflow prints it: money as 4-dp numbers (``117.5000``), errors as ``{Message, Error}``."""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

from integrations.core.wsgi import Response

from .model import FOUR_DP

_MARK_ID = secrets.token_hex(4)  # per process, so no stored text can imitate the marker
_DECIMAL_MARK = f"\x00kfdec{_MARK_ID}:"
_DECIMAL_TOKEN = re.compile(rf'"\\u0000kfdec{_MARK_ID}:(-?[0-9]+\.[0-9]+)"')


def _mark_decimal(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value.quantize(FOUR_DP):f}"
    return str(value)


def render_json(data: Any) -> str:
    """The C encoder cannot emit a custom number literal, so Decimals go out as marked strings and the quotes
    are stripped afterwards: about ten times faster than a pure-Python encoder on big pages."""
    text = json.dumps(data, default=_mark_decimal, ensure_ascii=False, separators=(",", ":"))
    return _DECIMAL_TOKEN.sub(r"\1", text)


def kf_json(data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, render_json(data).encode("utf-8"), headers=headers or [])


def kf_error(status: int, error: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return kf_json({"Message": message, "Error": error}, status, headers)
