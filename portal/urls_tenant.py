from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal.web import alert_views, apikey_views, inbox_views, sandbox_views, schedule_views, views, webhook_views
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
    path("flows/<int:pk>/schedule/", schedule_views.flow_schedule, name="flow_schedule"),
    path("notifications/", alert_views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", alert_views.notification_read, name="notification_read"),
    path("notifications/read-all/", alert_views.notification_read_all, name="notifications_read_all"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("inbox/", inbox_views.inbox_list, name="inbox"),
    path("inbox/actions/", inbox_views.inbox_action, name="inbox_action"),
    path("inbox/<int:pk>/", inbox_views.inbox_record, name="inbox_record"),
    path("inbox/<int:pk>/edit/", inbox_views.inbox_edit, name="inbox_edit"),
    path("approvals/", inbox_views.approvals_list, name="approvals"),
    path("approvals/actions/", inbox_views.approvals_action, name="approvals_action"),
    path("api/v1/", include("portal.api.urls")),
    path("users/", views.user_list, name="users"),
    path("audit/", views.audit_list, name="audit"),
    path("api-keys/", apikey_views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", apikey_views.api_key_revoke, name="api_key_revoke"),
    path("webhooks/<slug:token>/", webhook_views.receive, name="webhook_receive"),
    path("sandbox/", sandbox_views.sandbox_home, name="sandbox"),
    path("sandbox/start/", sandbox_views.sandbox_start, name="sandbox_start"),
    path("sandbox/<slug:instance_id>/reseed/", sandbox_views.sandbox_reseed, name="sandbox_reseed"),
    path("sandbox/<slug:instance_id>/faults/", sandbox_views.sandbox_faults, name="sandbox_faults"),
]
