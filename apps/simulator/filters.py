import django_filters

from apps.simulator.models import SimMdc


class SimMdcFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = SimMdc
        fields = ["code", "fmt", "transport"]
