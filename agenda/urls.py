from django.urls import path

from espace_sante.views import section

app_name = "agenda"

urlpatterns = [
    path(
        "",
        section(
            title="Mon agenda",
            intro="Vos rendez-vous médicaux, rappels et examens de prévention recommandés.",
        ),
        name="index",
    ),
]
