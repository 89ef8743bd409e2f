from django.db import models


class ServiceCategory(models.TextChoices):
    PREVENTION = "prevention", "Prévention"
    CHRONIQUE = "chronique", "Suivi de maladies chroniques"
    TELECONSULTATION = "teleconsultation", "Téléconsultation"
    RENDEZ_VOUS = "rendez_vous", "Prise de rendez-vous"
    BIEN_ETRE = "bien_etre", "Bien-être et activité physique"
    AIDANTS = "aidants", "Aidants et accompagnement"
    GROSSESSE = "grossesse", "Grossesse et petite enfance"
    SANTE_MENTALE = "sante_mentale", "Santé mentale"


class ServiceStatus(models.TextChoices):
    ONLINE = "en_ligne", "En ligne"
    OFFLINE = "hors_ligne", "Hors ligne"
    SUSPENDED = "suspendu", "Suspendu"
    DEREFERENCED = "dereference", "Déréférencé"


class Region(models.TextChoices):
    NATIONAL = "national", "Toute la France"
    ARA = "ara", "Auvergne-Rhône-Alpes"
    BFC = "bfc", "Bourgogne-Franche-Comté"
    BRE = "bre", "Bretagne"
    CVL = "cvl", "Centre-Val de Loire"
    COR = "cor", "Corse"
    GES = "ges", "Grand Est"
    HDF = "hdf", "Hauts-de-France"
    IDF = "idf", "Île-de-France"
    NOR = "nor", "Normandie"
    NAQ = "naq", "Nouvelle-Aquitaine"
    OCC = "occ", "Occitanie"
    PDL = "pdl", "Pays de la Loire"
    PAC = "pac", "Provence-Alpes-Côte d’Azur"
    OUTRE_MER = "outre_mer", "Outre-mer"


class Scope(models.TextChoices):
    """The data scopes a purpose grants; also the OAuth scopes (OAUTH2_PROVIDER["SCOPES"])."""

    MEASURES_READ = "measures:read", "lire vos mesures"
    MEASURES_WRITE = "measures:write", "ajouter des mesures"
    AGENDA_READ = "agenda:read", "lire vos rendez-vous"
    AGENDA_WRITE = "agenda:write", "ajouter des rendez-vous à votre agenda"
    DOCUMENTS_READ = "documents:read", "lire vos documents des catégories choisies"
    DOCUMENTS_WRITE = "documents:write", "ajouter des documents à votre dossier"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "connecté"
    REAPPROVAL = "reapproval", "à confirmer depuis votre majorité"
    DISCONNECTED = "disconnected", "déconnecté"


class ReportReason(models.TextChoices):
    CONTENT = "contenu", "Informations fausses ou trompeuses"
    PRIVACY = "donnees", "Utilisation de mes données"
    FUNCTION = "fonctionnement", "Le service ne fonctionne pas"
    OTHER = "autre", "Autre raison"


class DisconnectReason(models.TextChoices):
    PATIENT = "patient", "déconnecté par vous"
    DEREFERENCED = "dereferenced", "service déréférencé"
    SPACE_CLOSED = "space_closed", "profil clôturé"
