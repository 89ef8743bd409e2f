from django.apps import AppConfig


class MessagerieConfig(AppConfig):
    name = "messagerie"
    verbose_name = "Messagerie de santé"
