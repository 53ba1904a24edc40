from django.contrib import admin
from django.urls import path

from portal.web import public_views

admin.site.site_header = "Ledgerbridge staff"
admin.site.site_title = "Ledgerbridge staff"

urlpatterns = [
    path("", public_views.home, name="home"),
    path("signup/", public_views.signup, name="signup"),
    path("signup/done/<str:schema>/", public_views.signup_done, name="signup_done"),
    path("admin/", admin.site.urls),
]
