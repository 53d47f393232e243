"""Tariffs are data an Administrator edits here: each tariff with its register-to-band maps
per season and their validity dates (see ``TariffBandMap``)."""

from django.contrib import admin

from apps.billing.models import Tariff, TariffBandMap


class TariffBandMapInline(admin.TabularInline):
    model = TariffBandMap
    extra = 1


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "category", "time_of_use")
    list_filter = ("category", "time_of_use")
    search_fields = ("code", "name")
    inlines = [TariffBandMapInline]
