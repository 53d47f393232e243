from django.apps import AppConfig
from django.apps import apps as django_apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    # post_migrate fires once per app with models, and each app's permissions are created in its
    # own turn: sync after the last such app, when every permission exists (an app without
    # models, such as the ``mdm`` runtime, gets no signal).
    with_models = [c for c in django_apps.get_app_configs() if c.models_module is not None]
    if sender is not with_models[-1]:
        return
    from apps.accounts.roles import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts and roles"
    nav_items = [("API tokens", "api-token-list", None), ("Exports", "export-list", None)]

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.roles_sync")
