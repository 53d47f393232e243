from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "apps.ingestion"
    verbose_name = "Ingestion"
    nav_items = [
        ("Runs", "ingestion:run-list", "ingestion.view_ingestionrun"),
        ("MDC health", "ingestion:health", "ingestion.view_ingestionrun"),
        ("Completeness", "ingestion:completeness", "ingestion.view_ingestionrun"),
    ]

    def ready(self) -> None:
        from apps.ingestion import signals  # noqa: F401 - connects the receivers
