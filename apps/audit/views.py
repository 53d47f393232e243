from apps.audit.filters import AuditEntryFilter
from apps.audit.models import AuditEntry
from apps.audit.tables import AuditEntryTable
from apps.core.views import FilteredTableView


class AuditEntryListView(FilteredTableView):
    model = AuditEntry
    table_class = AuditEntryTable
    filterset_class = AuditEntryFilter
    permission_required = "audit.view_auditentry"
    title = "Audit log"
