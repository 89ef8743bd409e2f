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
    CONTACTS_UPDATED = "activation.contacts.updated", "a mis à jour vos coordonnées"
    DEATH_RECORDED = "activation.death.recorded", "a enregistré un décès"
    RECEIPT_DOWNLOADED = "activation.receipt.downloaded", "a téléchargé un justificatif"
    RECORD_VIEWED = "dossier.record.viewed", "a consulté le dossier médical"
    DOCUMENT_VIEWED = "dossier.document.viewed", "a consulté un document"
    DOCUMENT_DOWNLOADED = "dossier.document.downloaded", "a téléchargé un document"
    DOCUMENT_ADDED = "dossier.document.added", "a ajouté un document"
    DOCUMENT_RENAMED = "dossier.document.renamed", "a renommé un document"
    DOCUMENT_DELETED = "dossier.document.deleted", "a supprimé un document"
    DOCUMENT_HIDDEN = "dossier.document.hidden", "a masqué un document aux professionnels"
    DOCUMENT_UNHIDDEN = "dossier.document.unhidden", "a rendu un document visible aux professionnels"
    DOCUMENT_SHOWN_TO_REPRESENTATIVES = (
        "dossier.document.shown_to_representatives",
        "a rendu un document visible aux représentants légaux",
    )
    RECORD_SETTINGS_CHANGED = "dossier.settings.changed", "a modifié les réglages de confidentialité"
    PROFESSIONAL_ADDED = "dossier.team.added", "a ajouté un professionnel à l’équipe de soins"
    PROFESSIONAL_BLOCKED = "dossier.team.blocked", "a bloqué l’accès d’un professionnel"
    PROFESSIONAL_UNBLOCKED = "dossier.team.unblocked", "a débloqué un professionnel"
    ADMINISTRATOR_CHANGED = "dossier.team.administrator", "a modifié le rôle d’administrateur d’un professionnel"
    CONSENT_DECLARED = "dossier.team.consent", "a déclaré avoir recueilli votre consentement"
    EMERGENCY_ACCESS_STARTED = "dossier.emergency.started", "a ouvert un accès en urgence à votre dossier"
    PATIENT_SEARCHED = "dossier.patient.searched", "a recherché un patient"
    HISTORY_OF_CARE_VIEWED = "dossier.history.viewed", "a consulté l’historique de soins"
    SHARE_CREATED = "dossier.share.created", "a créé un lien de partage"
    SHARE_REVOKED = "dossier.share.revoked", "a révoqué un lien de partage"
    SHARE_OPENED = "dossier.share.opened", "a ouvert un document par un lien de partage"
    SHARE_REFUSED = "dossier.share.refused", "a tenté d’ouvrir un lien de partage expiré ou révoqué"
    # --- profil actions (added by the profil app) ---
    # --- messagerie actions ---
    # --- agenda actions ---
    # --- catalogue actions ---
    ACCESS_DENIED = "access.denied", "s’est vu refuser un accès"


class ActorRole(models.TextChoices):
    ANONYMOUS = "anonymous", "personne non connectée"
    PATIENT = "patient", "assuré"
    PROFESSIONAL = "professional", "professionnel de santé"
    AGENT = "agent", "conseiller de l’Assurance Maladie"
    SYSTEM = "system", "Mon espace santé"
