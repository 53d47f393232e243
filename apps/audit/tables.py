
from apps.audit.models import AuditEntry
from apps.core.tables import MdmTable


class AuditEntryTable(MdmTable):
    class Meta:
        model = AuditEntry
        fields = ("at", "actor_name", "action", "target_type", "target_id", "summary")
        default_columns = fields
        attrs = {"class": "table table-sm table-hover"}
