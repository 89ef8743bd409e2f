from django.db import models


class UserKind(models.TextChoices):
    PATIENT = "patient", "assuré"
    PROFESSIONAL = "professional", "professionnel de santé"
    AGENT = "agent", "conseiller"


class Sex(models.TextChoices):
    MALE = "M", "masculin"
    FEMALE = "F", "féminin"


class Profession(models.TextChoices):
    """Regulated health professions (Code de la santé publique, 4e partie), as registered in the RPPS."""

    MEDECIN = "medecin", "médecin"
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste", "chirurgien-dentiste"
    SAGE_FEMME = "sage_femme", "sage-femme"
    PHARMACIEN = "pharmacien", "pharmacien"
    INFIRMIER = "infirmier", "infirmier"
    MASSEUR_KINESITHERAPEUTE = "masseur_kinesitherapeute", "masseur-kinésithérapeute"
    PEDICURE_PODOLOGUE = "pedicure_podologue", "pédicure-podologue"
    ERGOTHERAPEUTE = "ergotherapeute", "ergothérapeute"
    PSYCHOMOTRICIEN = "psychomotricien", "psychomotricien"
    ORTHOPHONISTE = "orthophoniste", "orthophoniste"
    ORTHOPTISTE = "orthoptiste", "orthoptiste"
    MANIPULATEUR_ELECTRORADIOLOGIE = "manipulateur_erm", "manipulateur d’électroradiologie médicale"
    TECHNICIEN_LABORATOIRE = "technicien_laboratoire", "technicien de laboratoire médical"
    AUDIOPROTHESISTE = "audioprothesiste", "audioprothésiste"
    OPTICIEN_LUNETIER = "opticien_lunetier", "opticien-lunetier"
    PROTHESISTE_ORTHESISTE = "prothesiste_orthesiste", "prothésiste-orthésiste"
    DIETETICIEN = "dieteticien", "diététicien"
    AIDE_SOIGNANT = "aide_soignant", "aide-soignant"
    AUXILIAIRE_PUERICULTURE = "auxiliaire_puericulture", "auxiliaire de puériculture"
    AMBULANCIER = "ambulancier", "ambulancier"
    ASSISTANT_DENTAIRE = "assistant_dentaire", "assistant dentaire"
    PHYSICIEN_MEDICAL = "physicien_medical", "physicien médical"


class Organisation(models.TextChoices):
    CPAM = "cpam", "CPAM"
    FRANCE_SERVICES = "france_services", "France services"


class RepresentationKind(models.TextChoices):
    PARENT = "parent", "parent (autorité parentale)"
    TUTEUR = "tuteur", "tuteur ou tutrice"


class VitaleCardType(models.TextChoices):
    WITH_PHOTO = "avec_photo", "carte Vitale avec photo"
    WITHOUT_PHOTO = "sans_photo", "carte Vitale sans photo"


class EstablishmentKind(models.TextChoices):
    HOSPITAL = "hopital", "hôpital, centre hospitalier"
    LABORATORY = "laboratoire", "laboratoire de biologie médicale"
    RADIOLOGY = "radiologie", "centre de radiologie"
    PHARMACY = "pharmacie", "pharmacie"
    MEDICO_SOCIAL = "medico_social", "établissement médico-social"
