"""API keys for partners: ``Authorization: Bearer lb_<prefix>_<secret>``.

The prefix finds the key; the secret is compared by its SHA-256 in constant time. A revoked key, or one whose
user is inactive, is refused with 401 like an unknown one (no hint which part was wrong).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from portal.accounts.models import ApiKey

SCHEME = "Bearer"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(user, name: str) -> tuple[ApiKey, str]:
    """Make a key for ``user``; returns it and the full key text, which is never stored or shown again."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name.strip()[:80] or "API key", prefix=prefix,
                                key_hash=_hash(secret))
    return key, f"lb_{prefix}_{secret}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode(errors="replace")
        if not header.startswith(f"{SCHEME} lb_"):
            return None  # not ours: session authentication may still apply
        text = header[len(SCHEME) + 1:].strip()
        parts = text.split("_", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        key = ApiKey.objects.select_related("user").filter(prefix=parts[1], revoked_at__isnull=True).first()
        if key is None or not hmac.compare_digest(key.key_hash, _hash(parts[2])) or not key.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request) -> str:
        return SCHEME
