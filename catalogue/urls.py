from django.urls import path

from espace_sante.views import section

app_name = "catalogue"

urlpatterns = [
    path(
        "",
        section(
            title="Catalogue de services",
            intro="Les services numériques de santé référencés par l’État, que vous pouvez connecter à votre profil.",
        ),
        name="index",
    ),
]
