import django_filters

from apps.audit.models import AuditEntry
from apps.core.filters import time_from, time_until


class AuditEntryFilter(django_filters.FilterSet):
    at_after = time_from("at")
    at_before = time_until("at")
    action = django_filters.CharFilter(lookup_expr="istartswith")
    actor_name = django_filters.CharFilter(lookup_expr="iexact", label="User")
    search = django_filters.CharFilter(field_name="summary", lookup_expr="icontains")

    class Meta:
        model = AuditEntry
        fields = ["action", "actor_name", "target_type", "target_id"]
