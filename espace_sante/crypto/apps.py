from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CryptoConfig(AppConfig):
    name = "espace_sante.crypto"
    label = "crypto"
    verbose_name = "Chiffrement"

    def ready(self) -> None:
        from espace_sante.crypto import checks  # noqa: F401  (registers the system checks)
        from espace_sante.crypto.canary import ensure_canary

        post_migrate.connect(ensure_canary, sender=self)
