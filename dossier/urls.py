from django.urls import path

from espace_sante.views import section

app_name = "dossier"

urlpatterns = [
    path(
        "",
        section(
            title="Mes documents",
            intro=(
                "Vos ordonnances, résultats d’examens, comptes rendus et "
                "autres documents de santé, ajoutés par vous ou par vos professionnels de santé."
            ),
        ),
        name="index",
    ),
]
