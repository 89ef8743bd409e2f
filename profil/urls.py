from django.urls import path

from espace_sante.views import section

app_name = "profil"

urlpatterns = [
    path(
        "",
        section(
            title="Mon profil médical",
            intro=(
                "Vos maladies, traitements, allergies, vaccinations, mesures "
                "et volontés, que vous renseignez vous-même."
            ),
        ),
        name="index",
    ),
]
