"""The filters of My saved filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from apps.accounts.models import SavedFilter


class SavedFilterFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Search")
    path = django_filters.CharFilter(label="List's path")
    is_default = django_filters.BooleanFilter(label="Default")

    class Meta:
        model = SavedFilter
        fields = ["search", "path", "is_default"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(query__icontains=value))
