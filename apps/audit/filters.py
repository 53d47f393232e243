import django_filters

from apps.audit.models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    at_after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte", label="From")
    at_before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt", label="Until")
    action = django_filters.CharFilter(lookup_expr="istartswith")
    actor_name = django_filters.CharFilter(lookup_expr="iexact", label="User")
    search = django_filters.CharFilter(field_name="summary", lookup_expr="icontains")

    class Meta:
        model = AuditEntry
        fields = ["action", "actor_name", "target_type", "target_id"]
