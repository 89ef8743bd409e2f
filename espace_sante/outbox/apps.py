from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "espace_sante.outbox"
    label = "outbox"
    verbose_name = "Messages sortants"
