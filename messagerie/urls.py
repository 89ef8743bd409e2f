from django.urls import path

from espace_sante.views import section

app_name = "messagerie"

urlpatterns = [
    path(
        "",
        section(
            title="Ma messagerie",
            intro="Les échanges sécurisés avec vos professionnels de santé.",
        ),
        name="index",
    ),
]
