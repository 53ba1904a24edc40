from django.shortcuts import redirect, render

from portal.tenants.models import Tenant
from portal.tenants.services import tenant_create, tenant_url
from portal.web.forms import SignupForm


def home(request):
    return render(request, "public/home.html")


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = tenant_create(
            company_name=form.cleaned_data["company_name"], subdomain=form.cleaned_data["subdomain"],
            owner_email=form.cleaned_data["owner_email"], owner_password=form.cleaned_data["password"],
        )
        return redirect("signup_done", schema=result.tenant.schema_name)
    return render(request, "public/signup.html", {"form": form}, status=400 if form.errors else 200)


def signup_done(request, schema: str):
    tenant = Tenant.objects.filter(schema_name=schema).first()
    if tenant is None:
        return redirect("signup")
    return render(request, "public/signup_done.html", {"tenant": tenant, "login_url": tenant_url(tenant, "/login/")})
