"""Pages: a browser per data set (filtered by device, MDC and time) and the quarantine."""

from __future__ import annotations

import datetime
import json

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView
from django_tables2.paginators import LazyPaginator

from apps.core.views import FilteredTableView
from apps.warehouse import filters, tables
from apps.warehouse.choices import DataSetCode, QuarantineState
from apps.warehouse.models import (
    BillingReading,
    DeviceCommunicationHistory,
    InstantaneousReading,
    LoadProfileReading,
    MeterEvent,
    MeterVisuals,
    MonthlyBillingReading,
    QuarantinedRow,
)
from apps.warehouse.services import quarantine_reprocess, quarantined_row_resolve
from apps.warehouse.visuals_33 import is_3_3, visuals_rows, visuals_sections


class DataSetListView(FilteredTableView):
    """A data set browser. Tables are large: no row count (lazy paging), newest first, and
    without a time filter only the last ``default_window`` is shown."""

    template_name = "warehouse/data_list.html"
    table_pagination = {"paginator_class": LazyPaginator}
    default_window = datetime.timedelta(days=7)

    def get_queryset(self):
        model = self.model
        queryset = model.objects.order_by(f"-{model.time_field_name}")
        if not (self.request.GET.get("start") or self.request.GET.get("end")):
            since = timezone.now() - self.default_window
            queryset = queryset.filter(**{f"{model.time_field_name}__gte": since})
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["default_window"] = self.default_window
        context["time_filtered"] = bool(
            self.request.GET.get("start") or self.request.GET.get("end")
        )
        return context


class LoadProfileListView(DataSetListView):
    model = LoadProfileReading
    table_class = tables.LoadProfileReadingTable
    filterset_class = filters.LoadProfileReadingFilter
    permission_required = "warehouse.view_loadprofilereading"
    title = "Load profile"
    default_window = datetime.timedelta(days=1)


class MeterEventListView(DataSetListView):
    model = MeterEvent
    table_class = tables.MeterEventTable
    filterset_class = filters.MeterEventFilter
    permission_required = "warehouse.view_meterevent"
    title = "Events"


class InstantaneousListView(DataSetListView):
    model = InstantaneousReading
    table_class = tables.InstantaneousReadingTable
    filterset_class = filters.InstantaneousReadingFilter
    permission_required = "warehouse.view_instantaneousreading"
    title = "Instantaneous data"


class BillingListView(DataSetListView):
    model = BillingReading
    table_class = tables.BillingReadingTable
    filterset_class = filters.BillingReadingFilter
    permission_required = "warehouse.view_billingreading"
    title = "Billing data"
    default_window = datetime.timedelta(days=31)


class MonthlyBillingListView(DataSetListView):
    model = MonthlyBillingReading
    table_class = tables.MonthlyBillingReadingTable
    filterset_class = filters.MonthlyBillingReadingFilter
    permission_required = "warehouse.view_monthlybillingreading"
    title = "Monthly billing data"
    default_window = datetime.timedelta(days=366)


class DeviceCommunicationHistoryListView(DataSetListView):
    model = DeviceCommunicationHistory
    table_class = tables.DeviceCommunicationHistoryTable
    filterset_class = filters.DeviceCommunicationHistoryFilter
    permission_required = "warehouse.view_devicecommunicationhistory"
    title = "Device communication history"
    default_window = datetime.timedelta(days=1)


class MeterVisualsListView(FilteredTableView):
    model = MeterVisuals
    table_class = tables.MeterVisualsTable
    filterset_class = filters.MeterVisualsFilter
    permission_required = "warehouse.view_metervisuals"
    title = "Meter visuals"

    def get_queryset(self):
        return MeterVisuals.objects.order_by("global_device_id")


class MeterVisualsDetailView(PermissionRequiredMixin, DetailView):
    """One device's visuals, every filled column readable (3.3 settings in sections)."""

    model = MeterVisuals
    permission_required = "warehouse.view_metervisuals"
    template_name = "warehouse/meter_visuals_detail.html"
    context_object_name = "visuals"
    slug_field = slug_url_kwarg = "global_device_id"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        visuals = self.object
        context["title"] = f"Meter visuals of {visuals.global_device_id}"
        context["udil_3_3"] = is_3_3(visuals)
        context["rows"] = visuals_rows(visuals)
        context["sections"] = visuals_sections(visuals)
        return context


class QuarantineListView(FilteredTableView):
    model = QuarantinedRow
    table_class = tables.QuarantinedRowTable
    filterset_class = filters.QuarantinedRowFilter
    permission_required = "warehouse.view_quarantinedrow"
    title = "Quarantine"


class QuarantineDetailView(PermissionRequiredMixin, DetailView):
    model = QuarantinedRow
    permission_required = "warehouse.view_quarantinedrow"
    template_name = "warehouse/quarantine_detail.html"
    context_object_name = "entry"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Quarantined {self.object.get_kind_display().lower()} #{self.object.pk}"
        context["can_change"] = self.request.user.has_perm("warehouse.change_quarantinedrow")
        context["raw_payload_pretty"] = json.dumps(self.object.raw_payload, indent=2, default=str)
        context["DataSetCode"], context["QuarantineState"] = DataSetCode, QuarantineState
        return context


class QuarantineResolveView(PermissionRequiredMixin, View):
    permission_required = "warehouse.change_quarantinedrow"

    def post(self, request, pk: int):
        entry = get_object_or_404(QuarantinedRow, pk=pk)
        quarantined_row_resolve(
            quarantined_row=entry, actor=request.user, note=request.POST.get("note", "")
        )
        messages.success(request, "Marked as resolved.")
        return redirect(entry)


class QuarantineReloadView(PermissionRequiredMixin, View):
    permission_required = "warehouse.change_quarantinedrow"

    def post(self, request, pk: int):
        entry = get_object_or_404(QuarantinedRow, pk=pk)
        try:
            result = quarantine_reprocess(quarantined_row=entry, actor=request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect(entry)
        if not entry.resolved:
            messages.error(request, f"Refused again: {entry.reason}")
        else:
            messages.success(
                request,
                f"Re-processed: {result.inserted} inserted, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.quarantined} refused; marked resolved.",
            )
        return redirect(entry)
