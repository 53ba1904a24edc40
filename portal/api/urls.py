from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from portal.api import reconciliation, views

urlpatterns = [
    path("flows/", views.FlowList.as_view(), name="api_flows"),
    path("runs/", views.RunList.as_view(), name="api_runs"),
    path("runs/<int:pk>/", views.RunDetail.as_view(), name="api_run"),
    path("records/", views.RecordList.as_view(), name="api_records"),
    path("records/replay/", views.ReplayRecords.as_view(), name="api_records_replay"),
    path("records/ignore/", views.IgnoreRecords.as_view(), name="api_records_ignore"),
    path("records/approve/", views.ApproveRecords.as_view(), name="api_records_approve"),
    path("records/reject/", views.RejectRecords.as_view(), name="api_records_reject"),
    path("records/<int:pk>/", views.RecordDetail.as_view(), name="api_record"),
    path("records/<int:pk>/edit/", views.EditRecord.as_view(), name="api_record_edit"),
    path("reconciliations/", reconciliation.ReconciliationList.as_view(), name="api_reconciliations"),
    path("reconciliations/<int:pk>/", reconciliation.ReconciliationDetail.as_view(), name="api_reconciliation"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
]
