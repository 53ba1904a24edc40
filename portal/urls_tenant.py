from django.contrib.auth import views as auth_views
from django.urls import path

from portal.web import views
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
]
