from django.urls import path

from reconciliation import views

urlpatterns = [
    path("", views.run_list, name="reconciliations"),
    path("run/", views.run_now, name="reconciliation_run"),
    path("<int:pk>/", views.run_detail, name="reconciliation_detail"),
    path("<int:pk>/resync/", views.resync, name="reconciliation_resync"),
]
