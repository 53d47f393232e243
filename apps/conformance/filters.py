"""The runs list's filters (page and API alike): the MDC by its code (an id still works, for
links of before), and the run's state."""

from __future__ import annotations

import django_filters

from apps.conformance.choices import RunState
from apps.conformance.models import ConformanceRun
from apps.core.filters import CodeChoiceFilter
from apps.registry.models import Mdc


class RunFilter(django_filters.FilterSet):
    mdc = CodeChoiceFilter(queryset=Mdc.objects.all(), label="MDC")
    state = django_filters.ChoiceFilter(choices=RunState.choices)

    class Meta:
        model = ConformanceRun
        fields = ["mdc", "state"]
