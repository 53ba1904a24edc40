from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from portal.accounts.models import Role, User
from portal.tenants.services import validate_subdomain


class LoginForm(AuthenticationForm):
    username = forms.EmailField(label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True}))


class SignupForm(forms.Form):
    company_name = forms.CharField(max_length=120)
    subdomain = forms.CharField(max_length=30)
    owner_email = forms.EmailField(label="Your e-mail")
    password = forms.CharField(widget=forms.PasswordInput, min_length=10)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subdomain"].help_text = (
            f"Your portal's address: <subdomain>.{settings.BASE_DOMAIN} — lower-case letters, digits and hyphens."
        )

    def clean_company_name(self) -> str:
        name = self.cleaned_data["company_name"].strip()
        if not name:
            raise ValidationError("Please enter your company's name.")
        return name

    def clean_subdomain(self) -> str:
        return validate_subdomain(self.cleaned_data["subdomain"])

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            try:
                password_validation.validate_password(password, User(email=cleaned.get("owner_email", "")))
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


class ConnectionForm(forms.Form):
    """Secrets are write-only: left blank, the stored value is kept; never rendered back."""

    name = forms.CharField(max_length=80)
    base_url = forms.URLField(label="Endpoint URL", max_length=400, assume_scheme="https")
    username = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                               help_text="Leave blank to keep the stored password.")
    memorable_word = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                                     help_text="Kashflow only. Leave blank to keep the stored word.")
    company = forms.CharField(max_length=4, required=False, help_text="AX legal entity, e.g. USMF.")
    auth = forms.ChoiceField(choices=[("ntlm", "Windows (NTLM)"), ("basic", "Basic over HTTPS")],
                             required=False, label="AX authentication")


class UserCreateForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(widget=forms.PasswordInput, min_length=10)

    def __init__(self, *args, acting_user: User, **kwargs):
        super().__init__(*args, **kwargs)
        if acting_user.role != Role.OWNER:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].lower()
        if User.objects.filter(email=email).exists():
            raise ValidationError("A user with this e-mail already exists.")
        return email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password
