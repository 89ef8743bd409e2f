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
    REAUTHENTICATED = "accounts.reauthenticated", "a confirmé son identité avant une modification sensible"
    REAUTHENTICATION_FAILED = "accounts.reauthentication.failed", "a échoué à confirmer son identité"
    EMAIL_CHANGE_REQUESTED = "accounts.email.change_requested", "a demandé à changer d’adresse e-mail"
    AGENT_PATIENT_FOUND = "accounts.agent.found", "a retrouvé votre fiche administrative par une recherche"
    AGENT_PATIENT_VIEWED = "accounts.agent.viewed", "a consulté votre fiche administrative"
    SPACE_STATUS_CHANGED = "activation.space.status_changed", "a changé l’état de Mon espace santé"
    CODE_CHECK_FAILED = "activation.code.check_failed", "a saisi des informations d’activation erronées"
    CODE_ISSUED = "activation.code.issued", "a fait envoyer un nouveau code provisoire"
    CODE_VOIDED = "activation.code.voided", "a provoqué l’annulation d’un code provisoire"
    OPPOSITION_RECORDED = "activation.opposition.recorded", "a enregistré une opposition"
    CONTACTS_UPDATED = "activation.contacts.updated", "a mis à jour vos coordonnées"
    CONTACTS_CHANGE_REQUESTED = "accounts.contacts.change_requested", "a demandé une modification de vos coordonnées"
    CONTACTS_CHANGE_CODE_SENT = (
        "accounts.contacts.change_code_sent",
        "a fait envoyer un code de confirmation de vos coordonnées",
    )
    CONTACTS_CHANGE_CONFIRM_FAILED = (
        "accounts.contacts.change_confirm_failed",
        "a échoué à confirmer une modification de vos coordonnées",
    )
    CONTACTS_CHANGE_CANCELLED = "accounts.contacts.change_cancelled", "a annulé une modification de vos coordonnées"
    PASSWORD_RESET_WITHHELD = (
        "accounts.password.reset_withheld",
        "n’a pas reçu de lien de réinitialisation (adresse modifiée récemment par un conseiller)",
    )
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
    PROFILE_ENTRY_ADDED = "profil.entry.added", "a ajouté une information au profil médical"
    PROFILE_ENTRY_CHANGED = "profil.entry.changed", "a modifié une information du profil médical"
    PROFILE_ENTRY_DELETED = "profil.entry.deleted", "a supprimé une information du profil médical"
    PROFILE_NOT_CONCERNED = "profil.section.not_concerned", "a indiqué ne pas être concerné(e) par une rubrique"
    MEASURE_ADDED = "profil.measure.added", "a ajouté une mesure"
    MEASURE_DELETED = "profil.measure.deleted", "a supprimé une mesure"
    PROFILE_PROFESSIONAL_SET = "profil.professional.set", "a désigné un professionnel de santé"
    PROFILE_PROFESSIONAL_REMOVED = "profil.professional.removed", "a retiré un professionnel de santé désigné"
    ORGAN_DONATION_ACKNOWLEDGED = "profil.organ_donation.acknowledged", "a lu l’information sur le don d’organes"
    DIRECTIVES_WRITTEN = "profil.directives.written", "a rédigé des directives anticipées"
    PROFILE_VIEWED = "profil.viewed", "a consulté le profil médical"
    SYNTHESIS_REQUESTED = "profil.synthesis.requested", "a demandé une synthèse du profil médical"
    # --- messagerie actions ---
    CONVERSATION_STARTED = "messagerie.conversation.started", "a démarré une conversation dans la messagerie"
    CONVERSATION_VIEWED = "messagerie.conversation.viewed", "a consulté une conversation de la messagerie"
    MESSAGE_SENT = "messagerie.message.sent", "a envoyé un message dans la messagerie"
    CONVERSATION_ENDED = "messagerie.conversation.ended", "a mis fin à une conversation de la messagerie"
    CONVERSATION_ARCHIVED = "messagerie.conversation.archived", "a archivé une conversation de la messagerie"
    CONVERSATION_UNARCHIVED = "messagerie.conversation.unarchived", "a désarchivé une conversation de la messagerie"
    CONVERSATION_DELETED = "messagerie.conversation.deleted", "a supprimé une conversation de la messagerie"
    ATTACHMENT_DOWNLOADED = "messagerie.attachment.downloaded", "a ouvert une pièce jointe de la messagerie"
    ATTACHMENT_SAVED = "messagerie.attachment.saved", "a enregistré une pièce jointe dans les documents"
    MESSAGING_BLOCKED = "messagerie.block.added", "a bloqué les messages d’un professionnel"
    MESSAGING_UNBLOCKED = "messagerie.block.removed", "a débloqué les messages d’un professionnel"
    # --- agenda actions ---
    AGENDA_ENTRY_CREATED = "agenda.entry.created", "a ajouté un événement à l’agenda"
    AGENDA_ENTRY_VIEWED = "agenda.entry.viewed", "a consulté un événement de l’agenda"
    AGENDA_ENTRY_CHANGED = "agenda.entry.changed", "a modifié un événement de l’agenda"
    AGENDA_ENTRY_CANCELLED = "agenda.entry.cancelled", "a annulé un événement de l’agenda"
    AGENDA_ENTRY_DELETED = "agenda.entry.deleted", "a supprimé un événement de l’agenda"
    AGENDA_EXPORTED = "agenda.exported", "a exporté l’agenda (fichier .ics)"
    AGENDA_SETTINGS_CHANGED = "agenda.settings.changed", "a modifié les réglages de l’agenda"
    AGENDA_FEED_CREATED = "agenda.feed.created", "a créé un lien d’abonnement à l’agenda"
    AGENDA_FEED_REVOKED = "agenda.feed.revoked", "a révoqué le lien d’abonnement à l’agenda"
    AGENDA_FEED_READ = "agenda.feed.read", "a lu l’agenda par le lien d’abonnement (application de calendrier)"
    AGENDA_REMINDER_SENT = "agenda.reminder.sent", "a envoyé un rappel de l’agenda"
    PREVENTION_STATE_CHANGED = "agenda.prevention.changed", "a mis à jour un rappel de prévention"
    # --- catalogue actions ---
    SERVICE_CONNECTED = "catalogue.connection.created", "a connecté un service"
    SERVICE_PURPOSES_CHANGED = "catalogue.connection.changed", "a modifié les autorisations d’un service connecté"
    SERVICE_REAPPROVED = "catalogue.connection.reapproved", "a confirmé la connexion d’un service"
    SERVICE_DISCONNECTED = "catalogue.connection.ended", "a déconnecté un service"
    SERVICE_CONNECTION_PAUSED = "catalogue.connection.paused", "a suspendu un service connecté pendant la minorité"
    SERVICE_REPORTED = "catalogue.service.reported", "a signalé un service du catalogue"
    SERVICE_STATUS_CHANGED = "catalogue.service.status", "a changé le statut d’un service du catalogue"
    SERVICE_DEREFERENCED = "catalogue.service.dereferenced", "a déréférencé un service du catalogue"
    SERVICE_OAUTH_CLIENT_SET = "catalogue.service.oauth_client", "a enregistré le client OAuth d’un service"
    SERVICE_OAUTH_CLIENT_ROTATED = "catalogue.service.oauth_rotated", "a renouvelé le client OAuth d’un service"
    SERVICE_API_READ = "catalogue.api.read", "a consulté des données par l’API des services connectés"
    # No longer written (a service's measure or appointment is traced by its app, under the service's name);
    # kept for the events recorded before.
    SERVICE_API_WRITTEN = "catalogue.api.written", "a ajouté des données par l’API des services connectés"
    SERVICE_API_REFUSED = "catalogue.api.refused", "s’est vu refuser un accès par l’API des services connectés"
    # --- establishments and their software clients (document-sharing API, issue 17) ---
    ESTABLISHMENT_SAVED = "accounts.establishment.saved", "a enregistré un établissement"
    SOFTWARE_CLIENT_SET = "accounts.software.oauth_client", "a enregistré le client OAuth d’un logiciel"
    SOFTWARE_CLIENT_ROTATED = "accounts.software.oauth_rotated", "a renouvelé le client OAuth d’un logiciel"
    SOFTWARE_API_READ = "accounts.software_api.read", "a consulté des données par l’API de partage de documents"
    SOFTWARE_API_REFUSED = (
        "accounts.software_api.refused",
        "s’est vu refuser un accès par l’API de partage de documents",
    )
    ACCESS_DENIED = "access.denied", "s’est vu refuser un accès"


class ActorRole(models.TextChoices):
    ANONYMOUS = "anonymous", "personne non connectée"
    PATIENT = "patient", "assuré"
    PROFESSIONAL = "professional", "professionnel de santé"
    AGENT = "agent", "conseiller de l’Assurance Maladie"
    SYSTEM = "system", "Mon espace santé"


# --- What an event may carry besides who, whom and which object ------------------------------------------
#
# The log never holds medical content: no document title, message subject or body, no free text typed into a
# medical record. So an event names its object by type and public id, with a label from a closed vocabulary
# (TARGET_LABELS, the object's kind, or a professional's name), and every detail key is declared below with
# a kind that cannot carry prose. `record()` enforces both; tests/audit/test_no_medical_content.py proves
# that no call site passes a text field of a medical model.


class Detail:
    """The kind of a detail value."""

    FLAG = "flag"  # True / False
    COUNT = "count"  # a non-negative integer
    CODE = "code"  # a short machine code: letters, digits, _ . : / - (no spaces, no accents), ≤ 64 chars
    CODES = "codes"  # a list of codes or integers (field names, purpose ids, section keys)
    # Short strings typed outside any medical record (a login identifiant, an API path, an agent's note on
    # how identity was checked, a connected service's name): never a medical model's field.
    TEXT = "text"


CODE_PATTERN = r"^[A-Za-z0-9_.:/-]{0,64}$"
TEXT_MAX = 200

F, N, C, L, T = Detail.FLAG, Detail.COUNT, Detail.CODE, Detail.CODES, Detail.TEXT
_ACCESS = {"emergency": C}  # the public id of the emergency access a professional acted under

DETAILS: dict[str, dict[str, str]] = {
    Action.LOGIN_SUCCEEDED: {"portal": C, "device": C},
    Action.LOGIN_FAILED: {"portal": C, "identifiant": T, "reason": C},
    Action.LOGIN_THROTTLED: {"portal": C, "identifiant": T},
    Action.OTP_SENT: {"channel": C},
    Action.OTP_FAILED: {"throttled": F, "portal": C},
    Action.LOGOUT: {},
    Action.SESSION_EXPIRED: {"reason": C},
    Action.PASSWORD_RESET_REQUESTED: {},
    Action.PASSWORD_CHANGED: {},
    Action.SECOND_FACTOR_CHANGED: {"device": C},
    Action.PROFILE_SWITCHED: {},
    Action.REAUTHENTICATED: {"device": C},
    Action.REAUTHENTICATION_FAILED: {"step": C, "throttled": F},
    Action.EMAIL_CHANGE_REQUESTED: {},
    Action.SPACE_STATUS_CHANGED: {
        "before": C,
        "after": C,
        "channel": C,
        "reason": C,
        "deletion_requested": F,
    },
    Action.CODE_CHECK_FAILED: {"form": C},
    Action.CODE_ISSUED: {"channel": C},
    Action.CODE_VOIDED: {"reason": C},
    Action.OPPOSITION_RECORDED: {"channel": C},
    Action.CONTACTS_UPDATED: {"fields": L, "check": T, "requested_by": C, "confirmed": C},
    Action.CONTACTS_CHANGE_REQUESTED: {"fields": L, "check": T},
    Action.CONTACTS_CHANGE_CODE_SENT: {"channel": C},
    Action.CONTACTS_CHANGE_CONFIRM_FAILED: {"step": C, "cancelled": F},
    Action.CONTACTS_CHANGE_CANCELLED: {"reason": C},
    Action.PASSWORD_RESET_WITHHELD: {},
    Action.AGENT_PATIENT_FOUND: {"search": C},
    Action.AGENT_PATIENT_VIEWED: {},
    Action.DEATH_RECORDED: {},
    Action.RECEIPT_DOWNLOADED: {},
    Action.RECORD_VIEWED: _ACCESS,
    Action.DOCUMENT_VIEWED: _ACCESS,
    Action.DOCUMENT_DOWNLOADED: _ACCESS,
    Action.DOCUMENT_ADDED: {"held": F, "hidden_from_representatives": F},
    Action.DOCUMENT_RENAMED: {},
    Action.DOCUMENT_DELETED: {},
    Action.DOCUMENT_HIDDEN: {},
    Action.DOCUMENT_UNHIDDEN: {},
    Action.DOCUMENT_SHOWN_TO_REPRESENTATIVES: {},
    Action.RECORD_SETTINGS_CHANGED: {
        "hide_new_documents": F,
        "history_hidden": F,
        "emergency_samu": F,
        "emergency_break_glass": F,
        "emergency_hidden_documents": F,
        "notify_each_access": F,
    },
    Action.PROFESSIONAL_ADDED: {},
    Action.PROFESSIONAL_BLOCKED: {},
    Action.PROFESSIONAL_UNBLOCKED: {},
    Action.ADMINISTRATOR_CHANGED: {"administrator": F},
    Action.CONSENT_DECLARED: {},
    Action.EMERGENCY_ACCESS_STARTED: {"kind": C},
    Action.PATIENT_SEARCHED: {"found": F, "purpose": C, "throttled": F},
    Action.HISTORY_OF_CARE_VIEWED: _ACCESS,
    Action.SHARE_CREATED: {"hours": N},
    Action.SHARE_REVOKED: {"count": N, "reason": C},
    Action.SHARE_OPENED: {},
    Action.SHARE_REFUSED: {},
    Action.PROFILE_ENTRY_ADDED: {"section": C},
    Action.PROFILE_ENTRY_CHANGED: {"section": C},
    Action.PROFILE_ENTRY_DELETED: {"section": C},
    Action.PROFILE_NOT_CONCERNED: {"section": C, "value": F},
    Action.MEASURE_ADDED: {},
    Action.MEASURE_DELETED: {},
    Action.PROFILE_PROFESSIONAL_SET: {"role": C},
    Action.PROFILE_PROFESSIONAL_REMOVED: {"role": C},
    Action.ORGAN_DONATION_ACKNOWLEDGED: {},
    Action.DIRECTIVES_WRITTEN: {},
    Action.PROFILE_VIEWED: _ACCESS,
    Action.SYNTHESIS_REQUESTED: {"sections": L},
    Action.CONVERSATION_STARTED: {},
    Action.CONVERSATION_VIEWED: {},
    Action.MESSAGE_SENT: {"attachments": N},
    Action.CONVERSATION_ENDED: {},
    Action.CONVERSATION_ARCHIVED: {},
    Action.CONVERSATION_UNARCHIVED: {},
    Action.CONVERSATION_DELETED: {},
    Action.ATTACHMENT_DOWNLOADED: {},
    Action.ATTACHMENT_SAVED: {},
    Action.MESSAGING_BLOCKED: {},
    Action.MESSAGING_UNBLOCKED: {},
    Action.AGENDA_ENTRY_CREATED: {},
    Action.AGENDA_ENTRY_VIEWED: {},
    Action.AGENDA_ENTRY_CHANGED: {},
    Action.AGENDA_ENTRY_CANCELLED: {},
    Action.AGENDA_ENTRY_DELETED: {},
    Action.AGENDA_EXPORTED: {},
    Action.AGENDA_SETTINGS_CHANGED: {"reminders": F, "prevention": F, "feed_detail": C},
    Action.AGENDA_FEED_CREATED: {"renewed": F},
    Action.AGENDA_FEED_REVOKED: {"reason": C},
    Action.AGENDA_FEED_READ: {},
    Action.AGENDA_REMINDER_SENT: {"kind": C},
    Action.PREVENTION_STATE_CHANGED: {"code": C},
    Action.SERVICE_CONNECTED: {"purposes": L},
    Action.SERVICE_PURPOSES_CHANGED: {"purposes": L},
    Action.SERVICE_REAPPROVED: {"purposes": L},
    Action.SERVICE_DISCONNECTED: {"reason": C, "tokens_revoked": N},
    Action.SERVICE_CONNECTION_PAUSED: {},
    Action.SERVICE_REPORTED: {"reason": C},
    Action.SERVICE_STATUS_CHANGED: {"previous": C, "status": C, "report": C},
    Action.SERVICE_DEREFERENCED: {},
    Action.SERVICE_OAUTH_CLIENT_SET: {
        "created": F,
        "client_type": C,
        "redirect_uris": N,
        "origins": N,
        "keys": C,
    },
    Action.SERVICE_OAUTH_CLIENT_ROTATED: {"tokens_revoked": N},
    Action.ESTABLISHMENT_SAVED: {"created": F, "kind": C, "active": F},
    Action.SOFTWARE_CLIENT_SET: {"created": F, "keys": C, "professional": F, "active": F},
    Action.SOFTWARE_CLIENT_ROTATED: {"tokens_revoked": N},
    Action.SOFTWARE_API_READ: {"resource": C, "count": N},
    Action.SOFTWARE_API_REFUSED: {"reason": C, "method": C, "path": T},
    Action.SERVICE_API_READ: {"resource": C, "count": N},
    Action.SERVICE_API_WRITTEN: {"resource": C},
    Action.SERVICE_API_REFUSED: {"reason": C, "method": C, "path": T, "scope": C, "tokens_revoked": N},
    Action.ACCESS_DENIED: {"what": C, "blocked": F, "kind": C},
}
del F, N, C, L, T

# Labels an event may name its object with, besides the object's kind and a professional's name.
TARGET_LABELS = frozenset(
    {
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
        "liens de partage",
    }
)
