from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from portal.api import copilot, mapping, reconciliation, views

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
    path("flows/<str:flow>/mapping/", mapping.MappingOverview.as_view(), name="api_mapping"),
    path("flows/<str:flow>/mapping/versions/<str:ref>/", mapping.MappingVersionDetail.as_view(),
         name="api_mapping_version"),
    path("flows/<str:flow>/mapping/draft/", mapping.MappingDraft.as_view(), name="api_mapping_draft"),
    path("flows/<str:flow>/mapping/publish/", mapping.MappingPublish.as_view(), name="api_mapping_publish"),
    path("flows/<str:flow>/mapping/rollback/", mapping.MappingRollback.as_view(), name="api_mapping_rollback"),
    path("flows/<str:flow>/mapping/diff/", mapping.MappingDiff.as_view(), name="api_mapping_diff"),
    path("flows/<str:flow>/mapping/export/", mapping.MappingExport.as_view(), name="api_mapping_export"),
    path("flows/<str:flow>/mapping/export/gl/", mapping.MappingExportGl.as_view(), name="api_mapping_export_gl"),
    path("flows/<str:flow>/mapping/import/", mapping.MappingImport.as_view(), name="api_mapping_import"),
    path("flows/<str:flow>/mapping/import/gl/", mapping.MappingImportGl.as_view(), name="api_mapping_import_gl"),
    path("flows/<str:flow>/copilot/gl-suggestions/", copilot.GLSuggestions.as_view(), name="api_copilot_gl"),
    path("flows/<str:flow>/copilot/gl-suggestions/accept/", copilot.GLAccept.as_view(),
         name="api_copilot_gl_accept"),
    path("flows/<str:flow>/copilot/gl-suggestions/reject/", copilot.GLReject.as_view(),
         name="api_copilot_gl_reject"),
    path("copilot/score/", copilot.Score.as_view(), name="api_copilot_score"),
    path("copilot/settings/", copilot.Settings.as_view(), name="api_copilot_settings"),
    path("records/<int:pk>/fixes/", copilot.RecordFixes.as_view(), name="api_record_fixes"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
]
