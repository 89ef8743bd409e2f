from django.db import models


class Section(models.TextChoices):
    """The sections of the health profile a patient fills in (keys are not personal data)."""

    MALADIES = "maladies", "Maladies et sujets de santé"
    TRAITEMENTS = "traitements", "Traitements"
    HOSPITALISATIONS = "hospitalisations", "Hospitalisations et actes chirurgicaux"
    ANTECEDENTS = "antecedents", "Antécédents familiaux"
    ALLERGIES = "allergies", "Allergies"
    VACCINATIONS = "vaccinations", "Vaccinations"
    GROUPE_SANGUIN = "groupe-sanguin", "Groupe sanguin"
    HANDICAPS = "handicaps", "Handicaps"
    HABITUDES = "habitudes", "Habitudes de vie"
    CONTACTS = "contacts-urgence", "Contacts en cas d’urgence"
    CONFIANCE = "personne-de-confiance", "Personne de confiance"


class Relative(models.TextChoices):
    MERE = "mere", "mère"
    PERE = "pere", "père"
    FRERE = "frere", "frère"
    SOEUR = "soeur", "sœur"
    GRAND_PARENT = "grand_parent", "grand-parent"
    ONCLE = "oncle", "oncle"
    TANTE = "tante", "tante"
    ENFANT = "enfant", "enfant"
    AUTRE = "autre", "autre"


class DoseType(models.TextChoices):
    PRIMO = "primo", "primo-vaccination"
    RAPPEL = "rappel", "rappel"


class BloodGroup(models.TextChoices):
    A_POS = "A+", "A+"
    A_NEG = "A-", "A−"
    B_POS = "B+", "B+"
    B_NEG = "B-", "B−"
    AB_POS = "AB+", "AB+"
    AB_NEG = "AB-", "AB−"
    O_POS = "O+", "O+"
    O_NEG = "O-", "O−"


class DurationUnit(models.TextChoices):
    HEURES = "heures", "heure(s)"
    JOURS = "jours", "jour(s)"
    SEMAINES = "semaines", "semaine(s)"
    MOIS = "mois", "mois"


class MeasureKind(models.TextChoices):
    POIDS = "poids", "Poids"
    TAILLE = "taille", "Taille"
    TOUR_DE_TAILLE = "tour_de_taille", "Tour de taille"
    TEMPERATURE = "temperature", "Température"
    TENSION = "tension", "Tension artérielle"
    FREQUENCE_CARDIAQUE = "frequence_cardiaque", "Fréquence cardiaque"
    GLYCEMIE = "glycemie", "Glycémie"
    HBA1C = "hba1c", "Hémoglobine glyquée (HbA1c)"
    DOULEUR = "douleur", "Douleur"
    PAS = "pas", "Nombre de pas par jour"
    PERIMETRE_CRANIEN = "perimetre_cranien", "Périmètre crânien"


class ProfessionalRole(models.TextChoices):
    SAGE_FEMME = "sage_femme_referente", "sage-femme référente"
    PHARMACIEN = "pharmacien_correspondant", "pharmacien correspondant"


class DirectiveChoice(models.TextChoices):
    ACCEPTE = "accepte", "Je l’accepte"
    REFUSE = "refuse", "Je la refuse"
    SANS_AVIS = "sans_avis", "Je ne me prononce pas"
