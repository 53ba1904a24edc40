from django.apps import AppConfig


class AiCopilotConfig(AppConfig):
    name = "ai_copilot"
    label = "ai_copilot"
    verbose_name = "Co-pilot"
    default_auto_field = "django.db.models.BigAutoField"
