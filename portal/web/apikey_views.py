"""API keys for partners: admins make them (acting as a chosen user, with that user's role) and revoke them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.accounts.audit import audit
from portal.accounts.models import ApiKey, Role, User
from portal.accounts.roles import role_required
from portal.api.auth import issue_key


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Who or what uses it, e.g. “Acme ERP partner”.")
    user = forms.ModelChoiceField(queryset=User.objects.none(), help_text="The key acts as this person, with "
                                                                          "their role.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("email")


@role_required(Role.ADMIN)
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        key, new_key = issue_key(form.cleaned_data["user"], form.cleaned_data["name"])
        audit(request.user, "api_key.created", key, {"user": key.user.email, "prefix": key.prefix})
        form = ApiKeyForm()
    keys = ApiKey.objects.select_related("user")
    return render(request, "web/api_keys.html", {"form": form, "keys": keys, "new_key": new_key})


@role_required(Role.ADMIN)
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(ApiKey, pk=pk, revoked_at__isnull=True)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit(request.user, "api_key.revoked", key, {"prefix": key.prefix})
    messages.success(request, f"Revoked {key.name}.")
    return redirect("api_keys")
