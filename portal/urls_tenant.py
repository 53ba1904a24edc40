from django.contrib.auth import views as auth_views
from django.urls import path

from portal.web import sandbox_views, views, webhook_views
from portal.web.forms import LoginForm

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", authentication_form=LoginForm,
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("connections/", views.connection_list, name="connections"),
    path("connections/<int:pk>/", views.connection_edit, name="connection_edit"),
    path("connections/<int:pk>/test/", views.connection_test_view, name="connection_test"),
    path("flows/<int:pk>/run/", views.flow_run, name="flow_run"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("users/", views.user_list, name="users"),
    path("audit/", views.audit_list, name="audit"),
    path("webhooks/<slug:token>/", webhook_views.receive, name="webhook_receive"),
    path("sandbox/", sandbox_views.sandbox_home, name="sandbox"),
    path("sandbox/start/", sandbox_views.sandbox_start, name="sandbox_start"),
    path("sandbox/<slug:instance_id>/reseed/", sandbox_views.sandbox_reseed, name="sandbox_reseed"),
    path("sandbox/<slug:instance_id>/faults/", sandbox_views.sandbox_faults, name="sandbox_faults"),
]
