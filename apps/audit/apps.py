from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    verbose_name = "Audit"
    nav_items = [("Audit log", "audit:entry-list", "audit.view_auditentry")]
