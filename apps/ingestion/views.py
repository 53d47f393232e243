"""Ingestion pages: runs, run detail, MDC health, completeness, Pull now, schedules, file
deliveries and their upload."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView

from apps.core.views import FilteredTableView
from apps.ingestion import charts, selectors
from apps.ingestion.choices import DeliveryState, HealthStatus, RunOutcome
from apps.ingestion.filters import FileDeliveryFilter, IngestionRunFilter
from apps.ingestion.flatfiles import delivery_columns
from apps.ingestion.models import FileDelivery, IngestionRun
from apps.ingestion.services import (
    PullRefused,
    delivery_upload,
    mdc_schedule_update,
    pull_request,
)
from apps.ingestion.tables import FileDeliveryTable, IngestionRunTable
from apps.registry.choices import Dataset, Transport
from apps.registry.models import Mdc
from apps.udil.profiles import get_profile


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
        served = get_profile(mdc.udil_profile).datasets  # the data sets of the MDC's UDIL
        for code, label in Dataset.choices:
            if code not in served:
                continue
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


# --- flat-file deliveries ----------------------------------------------------------------------


class DeliveryListView(FilteredTableView):
    model = FileDelivery
    table_class = FileDeliveryTable
    filterset_class = FileDeliveryFilter
    permission_required = "ingestion.view_filedelivery"
    title = "File deliveries"
    create_url_name = "ingestion:delivery-import"
    create_permission = "ingestion.upload_delivery"

    def get_queryset(self):
        return selectors.deliveries_list()


class DeliveryUploadForm(forms.Form):
    mdc = forms.ModelChoiceField(
        label="MDC",
        queryset=Mdc.objects.filter(transport=Transport.FILE).order_by("code"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        help_text="One delivery: <data set>_<yyyyMMddTHHmm>.csv, e.g. "
        "load_profile_20261201T1000.csv, a header row of the data set's columns.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.INGESTION_FILE_MAX_BYTES:
            raise ValidationError(
                f"The file is larger than {settings.INGESTION_FILE_MAX_BYTES} bytes."
            )
        return upload


class DeliveryImportView(PermissionRequiredMixin, FormView):
    """Upload one flat-file delivery of a file MDC; it loads at once, like a file in the MDC's
    watched directory."""

    permission_required = "ingestion.upload_delivery"
    template_name = "ingestion/delivery_import.html"
    form_class = DeliveryUploadForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title="Upload a file delivery", columns=delivery_columns())
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            delivery = delivery_upload(
                actor=self.request.user,
                mdc=form.cleaned_data["mdc"],
                name=upload.name,
                content=upload.read(),
            )
        except PullRefused as exc:
            form.add_error("file", str(exc))
            return self.form_invalid(form)
        if delivery.state == DeliveryState.LOADED:
            messages.success(
                self.request,
                f"{delivery.name}: {delivery.rows_received} rows read, "
                f"{delivery.rows_inserted} new, {delivery.rows_quarantined} quarantined.",
            )
        else:
            messages.warning(self.request, f"{delivery.name}: {delivery.state}. {delivery.error}")
        return redirect("ingestion:delivery-list")
