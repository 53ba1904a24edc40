"""Secrets at rest: an encrypted model field.

Values are encrypted with Fernet (AES-128-CBC + HMAC) under ``LEDGERBRIDGE_SECRET_KEY`` (comma-separated
keys, newest first, so keys can be rotated). The field never appears in forms or serializers with its
value: views show only whether a secret is set.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("LEDGERBRIDGE_SECRET_KEY must be one or more Fernet keys") from exc


def encrypt(value: str) -> str:
    return PREFIX + _fernet(tuple(settings.LEDGERBRIDGE_SECRET_KEYS)).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise ValueError("not an encrypted value")
    try:
        return _fernet(tuple(settings.LEDGERBRIDGE_SECRET_KEYS)).decrypt(token[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: LEDGERBRIDGE_SECRET_KEY does not hold the key it was written with"
        ) from exc


class Secret(str):
    """A decrypted value whose repr never shows the secret (tracebacks, debug pages, shell)."""

    def __repr__(self) -> str:
        return "Secret('********')" if self else "Secret('')"


class EncryptedTextField(models.TextField):
    """Stores ``str`` values encrypted; reads them back as :class:`Secret`."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return Secret("") if value == "" else None
        return Secret(decrypt(value))

    def to_python(self, value):
        if value is None or isinstance(value, Secret):
            return value
        if isinstance(value, str) and value.startswith(PREFIX):
            return Secret(decrypt(value))
        return Secret(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def formfield(self, **kwargs):
        from django import forms

        defaults = {"widget": forms.PasswordInput(render_value=False)}
        defaults.update(kwargs)
        return super().formfield(**defaults)
