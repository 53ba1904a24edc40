"""Role checks for views: ``@role_required(Role.OPERATOR)``."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from portal.accounts.models import Role


def role_required(minimum: str = Role.VIEWER):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_role(minimum):
                raise PermissionDenied(f"This needs the {Role(minimum).label} role or higher.")
            return view(request, *args, **kwargs)

        wrapped.minimum_role = minimum
        return wrapped

    return decorator
