from django.apps import AppConfig
from django.apps import apps as django_apps
from django.db.models.signals import post_migrate


def _after_migrate(sender, **kwargs) -> None:
    # Permissions of every app exist only after the last post_migrate, which fires once per
    # app with models (an app without models, such as mdm, gets none).
    with_models = [c for c in django_apps.get_app_configs() if c.models_module is not None]
    if sender is not with_models[-1]:
        return
    from apps.workflows.roles import workflow_groups_sync
    from apps.workflows.schedule import beat_schedule_ensure

    workflow_groups_sync()
    beat_schedule_ensure()


class WorkflowsConfig(AppConfig):
    name = "apps.workflows"
    verbose_name = "Work orders"
    nav_items = [("Work orders", "workflows:order-list", "workflows.view_workorder")]

    def ready(self) -> None:
        post_migrate.connect(_after_migrate, dispatch_uid="workflows.after_migrate")
