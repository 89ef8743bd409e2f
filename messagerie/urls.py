from django.urls import path

from messagerie.views import common, patient

app_name = "messagerie"

urlpatterns = [
    path("", patient.index, name="index"),
    path("nouveau/", patient.new, name="new"),
    path("professionnels/", patient.blocks, name="blocks"),
    path("<uuid:public_id>/", patient.conversation, name="conversation"),
    path("<uuid:public_id>/archiver/", patient.archive, name="archive"),
    path("<uuid:public_id>/supprimer/", patient.delete, name="delete"),
    path("pieces-jointes/<uuid:public_id>/", common.attachment, name="attachment"),
    path("pieces-jointes/<uuid:public_id>/enregistrer/", patient.attachment_save, name="attachment_save"),
]
