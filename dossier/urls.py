from django.urls import path

from dossier.views import patient

app_name = "dossier"

urlpatterns = [
    path("", patient.document_list, name="index"),
    path("ajouter/", patient.document_upload, name="upload"),
    path("<uuid:public_id>/", patient.document_detail, name="document_detail"),
    path("<uuid:public_id>/apercu/", patient.document_preview, name="document_preview"),
    path("<uuid:public_id>/telecharger/", patient.document_download, name="document_download"),
    path("<uuid:public_id>/renommer/", patient.document_rename, name="document_rename"),
    path("<uuid:public_id>/supprimer/", patient.document_delete, name="document_delete"),
    path("<uuid:public_id>/masquer/", patient.document_hide, name="document_hide"),
    path("<uuid:public_id>/partager/", patient.document_share, name="document_share"),
    path("partages/<uuid:public_id>/revoquer/", patient.share_revoke, name="share_revoke"),
    path("confidentialite/", patient.record_settings, name="settings"),
    path("acces/", patient.care_team, name="care_team"),
    path("acces/blocage/", patient.care_team_block, name="care_team_block"),
    path("acces/administrateur/", patient.care_team_administrator, name="care_team_administrator"),
    path("historique/", patient.access_history, name="access_history"),
    path("historique-de-soins/", patient.history_of_care, name="history_of_care"),
]
