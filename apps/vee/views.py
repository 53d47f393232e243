"""Pages: the exception queue (filter, bulk actions), one exception with its meter-period
chart, versions and actions, and the rules. Viewers see; ``vee.edit_data`` acts."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView

from apps.core.views import FilteredTableView
from apps.vee import filters, tables
from apps.vee.charts import exception_chart
from apps.vee.choices import ESTIMATION_METHODS, Explanation, Method
from apps.vee.models import Rule, ValidationException
from apps.vee.roles import EDIT_PERMISSION
from apps.vee.selectors import exception_versions, exceptions_queue, interval_series, rules_list
from apps.vee.services.queue import (
    ActionRefused,
    exception_edit,
    exceptions_accept,
    exceptions_estimate,
    exceptions_explain,
)

#: Hours of context either side of an exception's period in its chart.
CHART_MARGIN = dt.timedelta(hours=6)


def _action_context() -> dict:
    return {
        "methods": [(m, Method(m).label) for m in ESTIMATION_METHODS],
        "explanations": Explanation.choices,
    }


class ExceptionListView(FilteredTableView):
    model = ValidationException
    table_class = tables.ValidationExceptionTable
    filterset_class = filters.ValidationExceptionFilter
    permission_required = "vee.view_validationexception"
    template_name = "vee/exception_list.html"
    title = "VEE exceptions"

    def get_queryset(self):
        return exceptions_queue()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_edit"] = self.request.user.has_perm(EDIT_PERMISSION)
        context["bulk_url"] = f"{reverse('vee:exception-bulk')}?{self.request.GET.urlencode()}"
        context.update(_action_context())
        return context


class ExceptionDetailView(PermissionRequiredMixin, DetailView):
    model = ValidationException
    permission_required = "vee.view_validationexception"
    template_name = "vee/exception_detail.html"
    context_object_name = "exception"

    def get_queryset(self):
        return exceptions_queue()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        exc = self.object
        points = interval_series(
            meter=exc.meter,
            channel_id=exc.channel_id,
            start=exc.period_start - CHART_MARGIN,
            end=exc.period_end + CHART_MARGIN,
        )
        context["title"] = f"Exception #{exc.pk}: {exc.rule.name} on {exc.meter.global_device_id}"
        context["chart"] = exception_chart(points, period=(exc.period_start, exc.period_end))
        context["versions"] = tables.ValueVersionTable(exception_versions(exc))
        context["can_edit"] = self.request.user.has_perm(EDIT_PERMISSION)
        context.update(_action_context())
        return context


def _act(request, exceptions, action: str) -> str:
    """Run one queue action from a form; returns the message to show."""
    data = request.POST
    if action == "accept":
        count = exceptions_accept(
            exceptions=exceptions, actor=request.user, note=data.get("note", "")
        )
        return f"Accepted the estimates of {count} exceptions."
    if action == "estimate":
        count = exceptions_estimate(
            exceptions=exceptions,
            actor=request.user,
            method=data.get("method", ""),
            reason=data.get("reason", ""),
        )
        return f"Estimated {count} intervals."
    if action == "explain":
        count = exceptions_explain(
            exceptions=exceptions,
            actor=request.user,
            explanation=data.get("explanation", ""),
            note=data.get("note", ""),
        )
        return f"Marked {count} exceptions as explained."
    raise ActionRefused(f"Unknown action {action!r}.")


class ExceptionActionView(PermissionRequiredMixin, View):
    permission_required = EDIT_PERMISSION

    def post(self, request, pk: int):
        exc = get_object_or_404(ValidationException, pk=pk)
        action = request.POST.get("action", "")
        try:
            if action == "edit":
                count = exception_edit(
                    exception=exc,
                    actor=request.user,
                    value=request.POST.get("value", ""),
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, f"Typed value saved for {count} intervals.")
            else:
                queryset = ValidationException.objects.filter(pk=exc.pk)
                messages.success(request, _act(request, queryset, action))
        except ActionRefused as refused:
            messages.error(request, str(refused))
        return redirect(exc)


class ExceptionBulkView(PermissionRequiredMixin, View):
    """An action over every exception the queue's filter (the query string) selects."""

    permission_required = EDIT_PERMISSION

    def post(self, request):
        filterset = filters.ValidationExceptionFilter(request.GET, queryset=exceptions_queue())
        target = f"{reverse('vee:exception-list')}?{request.GET.urlencode()}"
        if not filterset.is_valid():
            messages.error(request, f"The filter is not valid: {filterset.errors.as_text()}")
            return HttpResponseRedirect(target)
        try:
            messages.success(request, _act(request, filterset.qs, request.POST.get("action", "")))
        except ActionRefused as refused:
            messages.error(request, str(refused))
        return HttpResponseRedirect(target)


class RuleListView(FilteredTableView):
    model = Rule
    table_class = tables.RuleTable
    filterset_class = filters.RuleFilter
    permission_required = "vee.view_rule"
    title = "VEE rules"

    def get_queryset(self):
        return rules_list()
