from django.urls import path

from ai_copilot import views

urlpatterns = [
    path("", views.copilot_home, name="copilot"),
    path("settings/", views.copilot_settings, name="copilot_settings"),
    path("retrain/", views.copilot_retrain, name="copilot_retrain"),
    path("records/<int:pk>/dismiss/", views.copilot_dismiss, name="copilot_dismiss"),
    path("flows/<slug:key>/accept/", views.gl_accept, name="copilot_gl_accept"),
    path("flows/<slug:key>/reject/", views.gl_reject, name="copilot_gl_reject"),
    path("flows/<slug:key>/accept-above/", views.gl_accept_above, name="copilot_gl_accept_above"),
]
