"""Strip the medical content older events held: document titles (as the label of the object, or the old
title of a rename), attachment file names, conversation labels. Each event keeps its object's type and id;
the label the history shows is resolved when it is read (espace_sante.access.policy.history_entries_for).

The model forbids changing an event (append-only); this one-off correction goes through the query layer.
"""

from django.db import migrations

# The labels of log.SAFE_STR_MODELS and log.TARGET_LABELS as they were when this migration was written.
SAFE_STR_MODELS = {
    "accounts.Patient",
    "accounts.Professional",
    "activation.HealthSpace",
    "activation.Opposition",
    "activation.Closure",
    "agenda.AgendaEntry",
    "agenda.AgendaSettings",
    "agenda.PreventionItem",
    "catalogue.Connection",
    "catalogue.Service",
    "catalogue.ServiceMeasure",
    "catalogue.ServiceAppointment",
    "dossier.EmergencyAccess",
    "profil.HealthProfile",
    "profil.ProfileEntry",
    "profil.Measure",
    "profil.ProfileProfessional",
    # Labelled "the professional" by name before the target became the professional itself.
    "dossier.CareTeamMember",
}
TARGET_LABELS = {
    "Mon espace santé",
    "dossier médical",
    "profil médical",
    "réglages de l’agenda",
    "lien d’abonnement",
    "rappel de prévention",
    "un événement",
    "tout l’agenda",
    "message de la messagerie",
    "pièce jointe de la messagerie",
}
# The kind (verbose_name) of the objects whose label is their kind only.
KINDS = {
    "dossier.Document": "document",
    "dossier.ShareLink": "lien de partage",
    "messagerie.Conversation": "conversation",
    "messagerie.Message": "message",
    "messagerie.Attachment": "pièce jointe",
}
DOCUMENT_DELETED = "dossier.document.deleted"
DOCUMENT_RENAMED = "dossier.document.renamed"


def strip(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    events = AuditEvent.objects.using(schema_editor.connection.alias)
    kinds = events.exclude(target_type="").values_list("target_type", flat=True).distinct()
    for target_type in kinds:
        if target_type in SAFE_STR_MODELS:
            continue
        kind = KINDS.get(target_type, "objet")
        events.filter(target_type=target_type).exclude(target_label__in=[*TARGET_LABELS, kind]).update(
            target_label=kind
        )
    # A deletion named the document by its title, without a target.
    events.filter(action=DOCUMENT_DELETED, target_type="").update(target_label="document")
    # A rename kept the old title in its details.
    for event in events.filter(action=DOCUMENT_RENAMED, data__has_key="before").only("pk", "data"):
        data = {key: value for key, value in event.data.items() if key != "before"}
        events.filter(pk=event.pk).update(data=data)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(strip, migrations.RunPython.noop, elidable=True),
    ]
