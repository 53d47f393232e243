from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "apps.ingestion"
    verbose_name = "Ingestion"
    nav_items = [
        ("Runs", "ingestion:run-list", "ingestion.view_ingestionrun"),
        ("MDC health", "ingestion:health", "ingestion.view_ingestionrun"),
        ("Completeness", "ingestion:completeness", "ingestion.view_ingestionrun"),
        ("File deliveries", "ingestion:delivery-list", "ingestion.view_filedelivery"),
    ]

    def ready(self) -> None:
        from apps.core.panels import Section, section_register
        from apps.ingestion import signals  # noqa: F401 - connects the receivers
        from apps.ingestion.mdc_section import mdc_health_context

        section_register(
            "registry.mdc",
            Section(
                name="ingestion-health",
                template="ingestion/_mdc_health.html",
                context=mdc_health_context,
                order=10,
                permission="ingestion.view_ingestionrun",
            ),
        )
