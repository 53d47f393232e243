"""Load pages (top consumers and peak demand against sanctioned load, transformer loading) and
the events list with acknowledgement. Login and the analytics view permission on every page;
acknowledging needs its own permission (Operators)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect

from apps.analytics import charts, load_selectors
from apps.analytics.services.events import event_acknowledge
from apps.analytics.views import AnalyticsPage

ACK_PERMISSION = "analytics.add_eventacknowledgement"


class ConsumersView(AnalyticsPage):
    template_name = "analytics/consumers.html"
    title = "Top consumers and peak demand"

    def content(self, period):
        limit = period["top"] or 50
        start, end = period["start"], period["end"]
        top, peaks = load_selectors.consumer_rankings(start=start, end=end, limit=limit)
        return {"top": top, "peaks": peaks}


class TransformersView(AnalyticsPage):
    template_name = "analytics/transformers.html"
    title = "Transformer loading"
    levels = ("feeder",)

    def content(self, period):
        rows = load_selectors.transformer_loading(
            start=period["start"], end=period["end"], feeder_id=period["node"],
            limit=period["top"] or 100,
        )  # fmt: skip
        return {"rows": rows, "chart": charts.loading_chart(rows) if rows else None}


class AcknowledgeForm(forms.Form):
    global_device_id = forms.CharField(max_length=50)
    event_datetime = forms.DateTimeField()
    event_code = forms.IntegerField(min_value=0, max_value=2**31 - 1)
    note = forms.CharField(max_length=200, required=False)


class EventsListView(AnalyticsPage):
    template_name = "analytics/events_list.html"
    title = "Events and alarms"
    default_days = 7

    def content(self, period):
        tamper = self.request.GET.get("tamper") == "1"
        unacknowledged = self.request.GET.get("open") == "1"
        rows = load_selectors.events_list(
            start=period["start"], end=period["end"], tamper_only=tamper,
            unacknowledged=unacknowledged, limit=period["top"] or 200,
        )  # fmt: skip
        return {
            "rows": rows,
            "tamper": tamper,
            "open": unacknowledged,
            "can_ack": self.request.user.has_perm(ACK_PERMISSION),
        }

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm(ACK_PERMISSION):
            raise PermissionDenied
        form = AcknowledgeForm(request.POST)
        back = request.get_full_path()
        if not form.is_valid():
            messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in
                                              form.errors.items()))  # fmt: skip
            return redirect(back)
        try:
            event_acknowledge(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(back)
        messages.success(request, "Event acknowledged.")
        return redirect(back)
