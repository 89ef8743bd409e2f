from django.db import models


class Action(models.TextChoices):
    """What happened, with the French label a patient reads in their access history ("X a …")."""

    LOGIN_SUCCEEDED = "accounts.login.succeeded", "s’est connecté(e)"
    LOGIN_FAILED = "accounts.login.failed", "a échoué à se connecter"
    LOGIN_THROTTLED = "accounts.login.throttled", "a été ralenti(e) après plusieurs échecs de connexion"
    OTP_SENT = "accounts.otp.sent", "a reçu un code de connexion"
    OTP_FAILED = "accounts.otp.failed", "a saisi un code de connexion erroné"
    LOGOUT = "accounts.logout", "s’est déconnecté(e)"
    SESSION_EXPIRED = "accounts.session.expired", "a été déconnecté(e) après expiration de la session"
    PASSWORD_RESET_REQUESTED = "accounts.password.reset_requested", "a demandé un nouveau mot de passe"
    PASSWORD_CHANGED = "accounts.password.changed", "a changé de mot de passe"
    SECOND_FACTOR_CHANGED = "accounts.second_factor.changed", "a changé de moyen de vérification en deux étapes"
    PROFILE_SWITCHED = "accounts.profile.switched", "a changé de profil actif"
    SPACE_STATUS_CHANGED = "activation.space.status_changed", "a changé l’état de Mon espace santé"
    CODE_CHECK_FAILED = "activation.code.check_failed", "a saisi des informations d’activation erronées"
    CODE_ISSUED = "activation.code.issued", "a fait envoyer un nouveau code provisoire"
    CODE_VOIDED = "activation.code.voided", "a provoqué l’annulation d’un code provisoire"
    OPPOSITION_RECORDED = "activation.opposition.recorded", "a enregistré une opposition"
    RECEIPT_DOWNLOADED = "activation.receipt.downloaded", "a téléchargé un justificatif"
    ACCESS_DENIED = "access.denied", "s’est vu refuser un accès"


class ActorRole(models.TextChoices):
    ANONYMOUS = "anonymous", "personne non connectée"
    PATIENT = "patient", "assuré"
    PROFESSIONAL = "professional", "professionnel de santé"
    AGENT = "agent", "conseiller de l’Assurance Maladie"
    SYSTEM = "system", "Mon espace santé"
