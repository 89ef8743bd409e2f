from django.urls import path

from profil import views

app_name = "profil"

urlpatterns = [
    path("", views.index, name="index"),
    path("mesures/", views.measures, name="measures"),
    path("mesures/<uuid:public_id>/supprimer/", views.measure_delete, name="measure_delete"),
    path("professionnels/", views.professionals, name="professionals"),
    path("professionnels/<uuid:public_id>/retirer/", views.professional_remove, name="professional_remove"),
    path("don-d-organes/", views.organ_donation, name="organ_donation"),
    path("directives-anticipees/", views.directives, name="directives"),
    path("synthese/", views.synthesis, name="synthesis"),
    path("<slug:section>/", views.section, name="section"),
    path("<slug:section>/ajouter/", views.entry_add, name="entry_add"),
    path("<slug:section>/non-concerne/", views.not_concerned, name="not_concerned"),
    path("<slug:section>/<uuid:public_id>/modifier/", views.entry_edit, name="entry_edit"),
    path("<slug:section>/<uuid:public_id>/supprimer/", views.entry_delete, name="entry_delete"),
]
