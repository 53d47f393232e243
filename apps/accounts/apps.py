from django.apps import AppConfig
from django.apps import apps as django_apps
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs) -> None:
    # post_migrate fires once per app, and each app's permissions are created in its own turn:
    # sync after the last app, when every permission exists.
    if sender is not list(django_apps.get_app_configs())[-1]:
        return
    from apps.accounts.roles import roles_sync

    roles_sync()


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Accounts and roles"
    nav_items = [("API tokens", "api-token-list", None), ("Exports", "export-list", None)]

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="accounts.roles_sync")
