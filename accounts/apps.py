from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Comptes et identités"

    def ready(self) -> None:
        from accounts.groups import ensure_groups

        post_migrate.connect(ensure_groups, dispatch_uid="accounts.ensure_groups")
