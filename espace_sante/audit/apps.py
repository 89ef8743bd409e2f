from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "espace_sante.audit"
    label = "audit"
    verbose_name = "Journal des accès"

    def ready(self) -> None:
        from espace_sante.audit import signals  # noqa: F401  (login signals → events)
