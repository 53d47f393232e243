"""Analytics pages: energy balance, suspects, communication health with drill-down and one-click
commands, completeness heat map, load curves, events by code, command success. Every page needs
a login and a view permission of analytics, and reads only the roll-ups."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from django_tables2 import RequestConfig

from apps.analytics import charts, selectors
from apps.analytics.forms import BalanceForm, PeriodForm
from apps.analytics.services.health import silent_meters_command, silent_meters_of
from apps.analytics.suspects import suspects_rank
from apps.analytics.tables import BalanceTable, SuspectTable

VIEW_PERMISSION = "analytics.view_nodeday"
SEND_PERMISSION = "commands.send_commandrequest"
PAGES = (
    ("balance", "Energy balance"),
    ("suspects", "Suspects"),
    ("health", "Communication health"),
    ("completeness", "Completeness"),
    ("load", "Load"),
    ("consumers", "Top consumers"),
    ("transformers", "Transformer loading"),
    ("events", "Events"),
    ("events-list", "Event list"),
    ("commands", "Commands"),
    ("reports", "Reports"),
)


class AnalyticsPage(PermissionRequiredMixin, TemplateView):
    permission_required = VIEW_PERMISSION
    title = ""
    levels: tuple[str, ...] | None = None
    default_days = 7
    form_class = PeriodForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.form_class(self.request.GET or None, levels=self.levels,
                               default_days=self.default_days)  # fmt: skip
        context.update(title=self.title, form=form, analytics_pages=PAGES)
        if not form.is_valid():
            if self.request.GET:
                messages.error(self.request, form.error_text())
            form = self.form_class({}, levels=self.levels, default_days=self.default_days)
            form.is_valid()
        context.update(self.content(form.cleaned_data))
        return context

    def content(self, period: dict) -> dict:
        raise NotImplementedError


class BalanceView(AnalyticsPage):
    """Every feeder's (or transformer's) balance ranked; or one node's: its row, its days and,
    for a feeder, its transformers' balances."""

    template_name = "analytics/balance.html"
    title = "Energy balance"
    levels = ("feeder", "transformer")
    form_class = BalanceForm

    def content(self, period):
        level, start, end = period["level"], period["start"], period["end"]
        node = period["node_obj"]
        if node is None:
            rows = selectors.energy_balance(level=level, start=start, end=end)
            return {"table": self._table(rows, period),
                    "chart": charts.balance_chart(rows) if rows else None}  # fmt: skip
        row = selectors.node_balance(level=level, node_id=node.pk, start=start, end=end)
        days = selectors.balance_days(level=level, node_id=node.pk, start=start, end=end)
        context = {
            "node": node,
            "level": level,
            "period": period,
            "table": self._table([row], period),
            "chart": charts.balance_days_chart(days),
        }
        if level == "feeder":
            below = selectors.feeder_transformer_balances(feeder_id=node.pk, start=start, end=end)
            context["transformers"] = self._table(below, period, prefix="t-")
        return context

    def _table(self, rows, period, prefix=""):
        table = BalanceTable(rows, period=period, prefix=prefix)
        RequestConfig(self.request, paginate=False).configure(table)
        return table


class SuspectsView(AnalyticsPage):
    template_name = "analytics/table.html"
    title = "Theft and tamper suspects"

    def content(self, period):
        rows = suspects_rank(start=period["start"], end=period["end"], top=period["top"] or 200)
        table = SuspectTable(rows)
        RequestConfig(self.request, paginate=False).configure(table)
        return {"table": table}


class HealthView(AnalyticsPage):
    template_name = "analytics/health.html"
    title = "Communication health"
    levels = ("feeder", "transformer", "mdc")

    def content(self, period):
        return {
            "tiles": selectors.health_tiles(level=period["level"], hours=period["hours"]),
            "hours": period["hours"],
            "level": period["level"],
        }


class SilentMetersView(AnalyticsPage):
    """The silent meters behind one tile, with the buttons that send them a read or a sync."""

    template_name = "analytics/silent.html"
    title = "Silent meters"
    levels = ("feeder", "transformer", "mdc")

    def content(self, period):
        meters = silent_meters_of(level=period["level"], node_id=period["node"],
                                  hours=period["hours"])  # fmt: skip
        return {
            "meters": meters[:500],
            "count": meters.count(),
            "period": period,
            "can_send": self.request.user.has_perm(SEND_PERMISSION),
        }

    def post(self, request, *args, **kwargs):
        if not request.user.has_perm(SEND_PERMISSION):
            raise PermissionDenied
        form = PeriodForm(request.POST, levels=self.levels)
        if not form.is_valid():
            messages.error(request, form.error_text())
            return redirect(request.get_full_path())
        period = form.cleaned_data
        try:
            sent = silent_meters_command(
                actor=request.user,
                action=request.POST.get("action", ""),
                level=period["level"],
                node_id=period["node"],
                hours=period["hours"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.get_full_path())
        messages.success(request, f"Command request #{sent.pk} sent to the silent meters.")
        return redirect(sent.get_absolute_url())


class CompletenessView(AnalyticsPage):
    template_name = "analytics/chart.html"
    title = "Completeness"
    levels = ("feeder", "mdc", "transformer", "subdivision")
    default_days = 14

    def content(self, period):
        grid = selectors.completeness_grid(
            level=period["level"], start=period["start"], end=period["end"]
        )
        return {"chart": charts.heat_map(grid) if grid["nodes"] else None}


class LoadView(AnalyticsPage):
    template_name = "analytics/chart.html"
    title = "Load curve"
    levels = ("feeder", "transformer", "subdivision", "mdc")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "show_tariff": True}

    def content(self, period):
        from apps.analytics import load_selectors

        if period["tariff"]:
            feeder = period["node"] if period["level"] == "feeder" else None
            points = load_selectors.tariff_load_curve(
                tariff=period["tariff"], start=period["start"], end=period["end"],
                feeder_id=feeder,
            )  # fmt: skip
            return {
                "chart": charts.load_chart(points) if points else None,
                "hint": f"No consumption of tariff {period['tariff']} in this period.",
            }
        if not period["node"]:
            return {
                "chart": None,
                "hint": "Choose a node (its id) or a tariff to draw its load"
                f" curve (tariffs: {', '.join(load_selectors.tariffs()) or 'none'}).",
            }
        points = selectors.load_curve(
            level=period["level"], node_id=period["node"], start=period["start"],
            end=period["end"],
        )  # fmt: skip
        return {"chart": charts.load_chart(points) if points else None}


class EventsView(AnalyticsPage):
    template_name = "analytics/chart.html"
    title = "Events by code"
    default_days = 30

    def content(self, period):
        rows = selectors.events_by_code(start=period["start"], end=period["end"])
        return {"chart": charts.events_chart(rows) if rows else None}


class CommandsView(AnalyticsPage):
    template_name = "analytics/commands.html"
    title = "Command success"
    default_days = 30

    def content(self, period):
        since = dt.datetime.combine(period["start"], dt.time(), timezone.get_current_timezone())
        return {"rows": selectors.command_success(since=since)}


class IndexView(PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION

    def get(self, request):
        return redirect("analytics:balance")
