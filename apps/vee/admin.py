"""Admin: rule sets with their rules (the configuration of validation), every save and delete
audited; exceptions, versions and validation runs are read-only here (the queue acts on them)."""

from __future__ import annotations

from django.contrib import admin

from apps.audit.services import audit_record
from apps.vee.models import Rule, RuleSet, ValidationException, ValidationRun, ValueVersion


def _audit(request, obj, verb: str, fields=()) -> None:
    label = obj._meta.model_name
    audit_record(
        actor=request.user,
        action=f"vee.{label}.{verb}",
        target=obj,
        summary=f"{verb.capitalize()} {label} {obj} in the admin",
        detail={"fields": sorted(fields)},
    )


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _audit(request, obj, "update" if change else "create", form.changed_data)

    def delete_model(self, request, obj):
        _audit(request, obj, "delete")
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            _audit(request, obj, "delete")
            obj.delete()
        for obj in instances:
            created = obj.pk is None
            obj.save()
            _audit(request, obj, "create" if created else "update")
        formset.save_m2m()


class RuleInline(admin.TabularInline):
    model = Rule
    extra = 0
    fields = ("name", "rule_type", "parameters", "severity", "enabled")


@admin.register(RuleSet)
class RuleSetAdmin(AuditedAdmin):
    list_display = ("name", "mdc", "tariff", "hierarchy_level", "hierarchy_node_id", "enabled")
    list_filter = ("enabled", "hierarchy_level")
    inlines = [RuleInline]


@admin.register(Rule)
class RuleAdmin(AuditedAdmin):
    list_display = ("name", "rule_set", "rule_type", "severity", "enabled")
    list_filter = ("rule_type", "severity", "enabled")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ValidationException)
class ValidationExceptionAdmin(ReadOnlyAdmin):
    list_display = ("id", "rule", "meter", "period_start", "severity", "status")
    list_filter = ("status", "severity", "rule__rule_type")
    list_select_related = ("rule", "meter")


@admin.register(ValueVersion)
class ValueVersionAdmin(ReadOnlyAdmin):
    list_display = ("meter", "meter_datetime", "version", "kind", "value", "method", "is_current")
    list_filter = ("kind", "method", "is_current")
    list_select_related = ("meter",)


@admin.register(ValidationRun)
class ValidationRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "trigger", "mdc", "range_start", "range_end", "found", "cleared")
