"""Ingestion pages: runs, run detail, MDC health, completeness, Pull now, schedules."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import DetailView, TemplateView

from apps.core.views import FilteredTableView
from apps.ingestion import charts, selectors
from apps.ingestion.choices import HealthStatus, RunOutcome
from apps.ingestion.filters import IngestionRunFilter
from apps.ingestion.models import IngestionRun
from apps.ingestion.services import PullRefused, mdc_schedule_update, pull_request
from apps.ingestion.tables import IngestionRunTable
from apps.registry.choices import Dataset
from apps.registry.models import Mdc


class RunListView(FilteredTableView):
    model = IngestionRun
    table_class = IngestionRunTable
    filterset_class = IngestionRunFilter
    permission_required = "ingestion.view_ingestionrun"
    title = "Ingestion runs"

    def get_queryset(self):
        return selectors.runs_list()


class RunDetailView(PermissionRequiredMixin, DetailView):
    model = IngestionRun
    permission_required = "ingestion.view_ingestionrun"
    template_name = "ingestion/run_detail.html"
    context_object_name = "run"

    def get_queryset(self):
        return selectors.runs_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Run {self.object.pk}"
        context["RunOutcome"] = RunOutcome
        return context


class HealthView(PermissionRequiredMixin, TemplateView):
    permission_required = "ingestion.view_ingestionrun"
    template_name = "ingestion/health.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        health = selectors.mdc_health()
        context.update(
            title="MDC health",
            health=health,
            unhealthy=[row for row in health if not row.healthy],
            HealthStatus=HealthStatus,
            chart=charts.health_chart(health) if health else None,
        )
        return context


class ScheduleForm(forms.Form):
    """Minutes between pulls per data set; 0 = not scheduled."""

    def __init__(self, *args, mdc: Mdc, **kwargs):
        super().__init__(*args, **kwargs)
        intervals = mdc.pull_intervals or {}
        for code, label in Dataset.choices:
            self.fields[code] = forms.IntegerField(
                label=label,
                min_value=0,
                max_value=60 * 24 * 31,
                initial=int(intervals.get(code) or 0),
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}),
            )


class MdcHealthView(PermissionRequiredMixin, DetailView):
    model = Mdc
    permission_required = "ingestion.view_ingestionrun"
    template_name = "ingestion/mdc_health.html"
    context_object_name = "mdc"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        mdc = self.object
        hourly = selectors.mdc_runs_hourly(mdc=mdc)
        summary = selectors.mdc_health(mdcs=Mdc.objects.filter(pk=mdc.pk))[0]
        context.update(
            title=f"MDC {mdc.code}: ingestion",
            summary=summary,
            datasets=selectors.mdc_dataset_health(mdc=mdc),
            chart=charts.runs_hourly_chart(hourly) if hourly else None,
            recent_runs=selectors.runs_list().filter(mdc=mdc)[:20],
            schedule_form=ScheduleForm(mdc=mdc),
            RunOutcome=RunOutcome,
            HealthStatus=HealthStatus,
            can_pull=self.request.user.has_perm("ingestion.pull_now"),
            can_schedule=self.request.user.has_perm("ingestion.edit_schedule"),
        )
        return context


class CompletenessView(PermissionRequiredMixin, TemplateView):
    permission_required = "ingestion.view_ingestionrun"
    template_name = "ingestion/completeness.html"
    max_days = 92

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            days = int(self.request.GET.get("days", 14))
        except ValueError:
            days = 14
        days = min(max(days, 1), self.max_days)
        grid = selectors.completeness_grid(days=days)
        context.update(
            title="Load-profile completeness",
            days=days,
            grid=grid,
            chart=charts.completeness_chart(
                mdc_codes=grid.mdc_codes, days=grid.day_labels, percent=grid.percent
            )
            if grid.mdc_codes
            else None,
        )
        return context


class PullNowView(PermissionRequiredMixin, View):
    """POST: queue a pull of one data set (``dataset``) or all of them for an MDC."""

    permission_required = "ingestion.pull_now"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        mdc = get_object_or_404(Mdc, pk=pk)
        dataset = request.POST.get("dataset") or None
        try:
            codes = pull_request(actor=request.user, mdc=mdc, dataset_code=dataset)
        except PullRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Pull queued for {mdc.code}: {', '.join(codes)}.")
        return redirect("ingestion:mdc-health", pk=mdc.pk)


class ScheduleUpdateView(PermissionRequiredMixin, View):
    permission_required = "ingestion.edit_schedule"
    http_method_names = ["post"]

    def post(self, request, pk: int):
        mdc = get_object_or_404(Mdc, pk=pk)
        form = ScheduleForm(request.POST, mdc=mdc)
        if form.is_valid():
            try:
                mdc_schedule_update(actor=request.user, mdc=mdc, pull_intervals=form.cleaned_data)
            except ValidationError as exc:
                messages.error(request, f"Schedule not saved: {'; '.join(exc.messages)}")
            else:
                messages.success(request, f"Pull schedule of {mdc.code} saved.")
        else:
            problems = "; ".join(
                f"{form.fields[name].label}: {' '.join(errors)}"
                for name, errors in form.errors.items()
            )
            messages.error(request, f"Schedule not saved: {problems}")
        return redirect("ingestion:mdc-health", pk=mdc.pk)
