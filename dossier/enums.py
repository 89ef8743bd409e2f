from django.db import models


class DocumentCategory(models.TextChoices):
    """The categories patients see (the real service's labels)."""

    SYNTHESE = "synthese", "Ma santé en résumé"
    ORDONNANCES = "ordonnances", "Ordonnances et soins"
    IMAGERIE = "imagerie", "Radio / écho / scanner / IRM"
    BIOLOGIE = "biologie", "Résultats de biologie"
    COMPTES_RENDUS = "comptes_rendus", "Comptes rendus"
    PREVENTION = "prevention", "Prévention et dépistages"
    CERTIFICATS = "certificats", "Certificats médicaux"
    SYNTHESE_MEDICALE = "synthese_medicale", "Synthèse médicale"
    ADMINISTRATIF = "administratif", "Pièces administratives"
    DIRECTIVES = "directives", "Directives anticipées"
    QUESTIONNAIRE = "questionnaire", "Questionnaire santé"
    AUTRES = "autres", "Autres documents"


class AuthorKind(models.TextChoices):
    PATIENT = "patient", "vous ou votre représentant"
    PROFESSIONAL = "professional", "un professionnel de santé"
    ESTABLISHMENT = "establishment", "un établissement de santé"
    SERVICE = "service", "Mon espace santé"


class CareTeamRole(models.TextChoices):
    MEDECIN_TRAITANT = "medecin_traitant", "médecin traitant"
    ADDED_BY_PATIENT = "added_by_patient", "ajouté par le patient"
    CONSENT_IN_CONSULTATION = "consent", "autorisé lors d’une consultation"


class EmergencyKind(models.TextChoices):
    SAMU = "samu", "régulation du SAMU (centre 15)"
    BREAK_GLASS = "break_glass", "accès en urgence (bris de glace)"


class CareKind(models.TextChoices):
    CONSULTATION = "consultation", "consultation"
    MEDICAMENT = "medicament", "médicament"
    BIOLOGIE = "biologie", "biologie"
    RADIOLOGIE = "radiologie", "radiologie"
    HOSPITALISATION = "hospitalisation", "hospitalisation"
    DISPOSITIF = "dispositif", "dispositif médical"
    VACCIN = "vaccin", "vaccin"
