from django.contrib import admin
from django.urls import include, path

from espace_sante import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("activation/", include("activation.urls")),
    path("documents/", include("dossier.urls")),
    path("profil-medical/", include("profil.urls")),
    path("messagerie/", include("messagerie.urls")),
    path("agenda/", include("agenda.urls")),
    path("catalogue/", include("catalogue.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "espace_sante.views.error_400"
handler403 = "espace_sante.views.error_403"
handler404 = "espace_sante.views.error_404"
handler500 = "espace_sante.views.error_500"
