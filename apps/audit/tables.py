import django_tables2 as tables

from apps.audit.models import AuditEntry


class AuditEntryTable(tables.Table):
    class Meta:
        model = AuditEntry
        fields = ("at", "actor_name", "action", "target_type", "target_id", "summary")
        default_columns = fields
        attrs = {"class": "table table-sm table-hover"}
