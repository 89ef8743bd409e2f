from django.apps import AppConfig


class ActivationConfig(AppConfig):
    name = "activation"
    verbose_name = "Activation et opposition"
