"""Identity services: the two-step login, second-factor challenges, profile switching, password events."""

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import authenticate, login
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login

from accounts.enums import UserKind
from accounts.models import ContactChangeRequest, EmailOTPDevice, Patient, TOTPDevice, User
from espace_sante.access.actor import Actor
from espace_sante.access.decorators import SESSION_REAUTHENTICATED_AT
from espace_sante.access.middleware import SESSION_ACTING_FOR
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.crypto.hashing import keyed_hash, keyed_hash_matches
from espace_sante.lib.throttle import Throttle, admit_all
from espace_sante.outbox.services import email_enqueue, sms_enqueue

PENDING_LOGIN = "pending_login"
PENDING_LOGIN_SECONDS = 5 * 60


class Portal(StrEnum):
    PATIENT = "patient"
    PROFESSIONAL = "professional"


PORTAL_KIND = {Portal.PATIENT: UserKind.PATIENT, Portal.PROFESSIONAL: UserKind.PROFESSIONAL}


def _throttles() -> tuple[Throttle, Throttle]:
    rules = settings.LOGIN_THROTTLE
    by_identifiant = Throttle("login-identifiant", **rules)
    # An address shared by many people (a France services desk, a company NAT) gets more room.
    by_address = Throttle("login-ip", **{**rules, "free_attempts": rules["free_attempts"] * 6})
    return by_identifiant, by_address


def password_attempt_admit(request: HttpRequest, identifiant: str) -> int:
    """Take a password attempt (portal logins, re-authentication, the agents' admin login): 0 when it may
    be checked, else the seconds to wait. The client address first: a request refused for its address
    spends nothing of the identifiant's attempts, so a slowed-down address cannot keep someone's
    identifiant slowed down (and one refused for the identifiant is given back to the address)."""
    by_identifiant, by_address = _throttles()
    return admit_all((by_address, request.client_ip), (by_identifiant, identifiant))


def password_attempt_succeeded(request: HttpRequest, identifiant: str) -> None:
    """A right password: the identifiant starts again from zero, the address gets its attempt back."""
    by_identifiant, by_address = _throttles()
    by_identifiant.reset(identifiant)
    by_address.refund(request.client_ip)  # a right password from a shared address (a France services office)


def password_throttle_message(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return f"Trop de tentatives de connexion. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."


@dataclass(frozen=True)
class PasswordCheck:
    user: User | None
    retry_after: int = 0


def login_password_check(*, request: HttpRequest, identifiant: str, password: str, portal: Portal) -> PasswordCheck:
    """First step: check the password without logging in. Same outcome whether or not the account exists.

    Refuses accounts of another portal (an agent or a patient on the professional login, …) with the same
    answer as a wrong password.
    """
    identifiant = identifiant.strip().lower()
    wait = password_attempt_admit(request, identifiant)
    if wait:
        record(Action.LOGIN_THROTTLED, actor=Actor.anonymous(), portal=portal, identifiant=identifiant)
        return PasswordCheck(user=None, retry_after=wait)

    user = authenticate(request, username=identifiant, password=password)
    if user is None or user.kind != PORTAL_KIND[portal]:
        reason = "credentials" if user is None else "wrong_portal"
        record(Action.LOGIN_FAILED, actor=Actor.anonymous(), portal=portal, identifiant=identifiant, reason=reason)
        return PasswordCheck(user=None)

    password_attempt_succeeded(request, identifiant)
    request.session[PENDING_LOGIN] = {"user": user.pk, "portal": str(portal), "at": time.time(), "sent_at": 0}
    return PasswordCheck(user=user)


def pending_login_user(request: HttpRequest, portal: Portal) -> User | None:
    """The user who passed the password step of `portal` less than five minutes ago, if any."""
    pending = request.session.get(PENDING_LOGIN)
    if not pending or pending.get("portal") != portal:
        return None
    if time.time() - pending["at"] > PENDING_LOGIN_SECONDS:
        request.session.pop(PENDING_LOGIN, None)
        return None
    return User.objects.filter(pk=pending["user"], is_active=True).first()


def second_factor_device(user: User) -> EmailOTPDevice | TOTPDevice | None:
    """The device a login must verify: an authenticator app when enrolled, else (patients) an e-mailed code.

    Professionals and agents must use an authenticator app; they get no e-mail fallback.
    """
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is not None or user.kind != UserKind.PATIENT:
        return totp
    device, _ = EmailOTPDevice.objects.get_or_create(user=user, defaults={"name": "e-mail", "confirmed": True})
    return device


EMAIL_RESEND_SECONDS = 60


def otp_email_send(
    *, request: HttpRequest, user: User, device: EmailOTPDevice, state_key: str = PENDING_LOGIN
) -> bool:
    """E-mail a new code unless one was sent less than a minute ago. Returns True when a mail left.

    `state_key` names the session entry of the pending step (a login, or a re-authentication).
    Sent synchronously: the code exists in clear only in this request, never in a task queue.
    """
    pending = request.session[state_key]
    if time.time() - pending.get("sent_at", 0) < EMAIL_RESEND_SECONDS:
        return False
    token = device.issue_token()
    minutes = int(settings.OTP_EMAIL_CODE_VALIDITY.total_seconds() // 60)
    context = {"token": token, "minutes": minutes, "first_name": user.first_name}
    send_mail(
        subject=render_to_string("emails/accounts/login_code.subject.txt", context).strip(),
        message=render_to_string("emails/accounts/login_code.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )
    pending["sent_at"] = time.time()
    request.session.modified = True
    record(Action.OTP_SENT, actor=Actor.for_user(user, verified=False), channel="email")
    return True


def login_second_factor(*, request: HttpRequest, user: User, device, token: str) -> bool:
    """Second step: verify the code, then open the session (new session key) and trace the login."""
    allowed, _ = device.verify_is_allowed()
    if not allowed or not device.verify_token(token):
        record(Action.OTP_FAILED, actor=Actor.for_user(user, verified=False), throttled=not allowed)
        return False
    with transaction.atomic():
        request.session.pop(PENDING_LOGIN, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # cycles the session key
        otp_login(request, device)
        actor = Actor.for_user(user, verified=True)
        record(Action.LOGIN_SUCCEEDED, actor=actor, patient=actor.patient, device=type(device).__name__)
    return True


# --- Re-authentication before sensitive changes --------------------------------------------------------

PENDING_REAUTH = "pending_reauth"


def reauth_password_check(*, request: HttpRequest, actor: Actor, password: str) -> PasswordCheck:
    """First step of a re-authentication: the password, throttled exactly like the login form."""
    user = actor.user
    wait = password_attempt_admit(request, user.username)
    if wait:
        record(Action.LOGIN_THROTTLED, actor=actor, portal="reauthentication", identifiant=user.username)
        return PasswordCheck(user=None, retry_after=wait)
    if not user.check_password(password):
        record(Action.REAUTHENTICATION_FAILED, actor=actor, patient=actor.patient, step="password")
        return PasswordCheck(user=None)
    password_attempt_succeeded(request, user.username)
    request.session[PENDING_REAUTH] = {"user": user.pk, "at": time.time(), "sent_at": 0}
    return PasswordCheck(user=user)


def reauth_pending(request: HttpRequest, user: User) -> bool:
    """True when `user` passed the password step of a re-authentication less than five minutes ago."""
    pending = request.session.get(PENDING_REAUTH)
    if not pending or pending.get("user") != user.pk:
        return False
    if time.time() - pending["at"] > PENDING_LOGIN_SECONDS:
        request.session.pop(PENDING_REAUTH, None)
        return False
    return True


def reauth_second_factor(*, request: HttpRequest, actor: Actor, device, token: str) -> bool:
    """Second step: a fresh code from the login device. Then a new session key and the time recorded."""
    allowed, _ = device.verify_is_allowed()
    if not allowed or not device.verify_token(token):
        record(
            Action.REAUTHENTICATION_FAILED,
            actor=actor,
            patient=actor.patient,
            step="second_factor",
            throttled=not allowed,
        )
        return False
    request.session.pop(PENDING_REAUTH, None)
    request.session.cycle_key()  # a session id seen before the confirmation is worth nothing after it
    request.session[SESSION_REAUTHENTICATED_AT] = time.time()
    record(Action.REAUTHENTICATED, actor=actor, patient=actor.patient, device=type(device).__name__)
    return True


# --- Contacts: e-mail address (confirmed by a code sent to it) and mobile phone ---------------------------

EMAIL_CHANGE = "email_change"
EMAIL_CHANGE_SECONDS = 10 * 60
EMAIL_CHANGE_MAX_ATTEMPTS = 5


class EmailChangeOutcome(StrEnum):
    CONFIRMED = "confirmed"
    WRONG_CODE = "wrong_code"
    LOST = "lost"  # expired, too many wrong codes, or nothing pending


def _email_change_purpose(user: User, email: str) -> str:
    return f"email-change:{user.pk}:{email.lower()}"


def _contacts_changed_notify(*, user: User | None, to: str, first_name: str = "") -> None:
    """Tell the address on file that the contacts changed, without saying what they became."""
    if not to:
        return
    context = {"first_name": user.first_name if user is not None else first_name}
    email_enqueue(
        to=to,
        subject=render_to_string("emails/accounts/contacts_changed.subject.txt", context).strip(),
        body=render_to_string("emails/accounts/contacts_changed.txt", context),
    )


@transaction.atomic
def phone_change(*, actor: Actor, phone: str) -> bool:
    """Record the person's own mobile phone number. Returns False when it was already the one on file."""
    patient = Patient.objects.select_for_update().get(pk=actor.patient.pk)
    if patient.phone == phone:
        return False
    patient.phone = phone
    patient.save(update_fields=["phone", "updated_at"])
    _agent_changes_cancel(patient=patient, actor=actor)  # the person decided for themselves
    record(Action.CONTACTS_UPDATED, actor=actor, patient=patient, fields=["phone"])
    _contacts_changed_notify(user=actor.user, to=actor.user.email)
    return True


def email_change_start(*, request: HttpRequest, actor: Actor, email: str) -> None:
    """E-mail a six-digit code to the new address; the address changes only once the code comes back.

    The code lives in this session as a keyed hash only, and leaves synchronously like a login code.
    """
    user = actor.user
    token = f"{secrets.randbelow(1_000_000):06d}"
    request.session[EMAIL_CHANGE] = {
        "email": email,
        "hash": keyed_hash(token, purpose=_email_change_purpose(user, email)),
        "until": time.time() + EMAIL_CHANGE_SECONDS,
        "attempts": 0,
    }
    context = {"token": token, "minutes": EMAIL_CHANGE_SECONDS // 60, "first_name": user.first_name}
    send_mail(
        subject=render_to_string("emails/accounts/email_change_code.subject.txt", context).strip(),
        message=render_to_string("emails/accounts/email_change_code.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    record(Action.EMAIL_CHANGE_REQUESTED, actor=actor, patient=actor.patient)


def email_change_pending(request: HttpRequest) -> str | None:
    """The new address waiting for its code in this session, if still valid."""
    pending = request.session.get(EMAIL_CHANGE)
    if not pending:
        return None
    if time.time() > pending["until"] or pending["attempts"] >= EMAIL_CHANGE_MAX_ATTEMPTS:
        request.session.pop(EMAIL_CHANGE, None)
        return None
    return pending["email"]


def email_change_confirm(*, request: HttpRequest, actor: Actor, token: str) -> EmailChangeOutcome:
    """Check the code sent to the new address; on success it replaces the old one, which is told."""
    email = email_change_pending(request)
    if email is None:
        return EmailChangeOutcome.LOST
    pending = request.session[EMAIL_CHANGE]
    user = actor.user
    if not keyed_hash_matches(token, pending["hash"], purpose=_email_change_purpose(user, email)):
        pending["attempts"] += 1
        request.session.modified = True
        if pending["attempts"] >= EMAIL_CHANGE_MAX_ATTEMPTS:
            request.session.pop(EMAIL_CHANGE, None)
            return EmailChangeOutcome.LOST
        return EmailChangeOutcome.WRONG_CODE
    request.session.pop(EMAIL_CHANGE, None)  # single use
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = locked.email
        User.objects.filter(pk=user.pk).update(email=email)
        Patient.objects.filter(user=user).update(email=email, updated_at=timezone.now())
        user.email = email
        if actor.patient is not None:
            _agent_changes_cancel(patient=actor.patient, actor=actor)  # the person decided for themselves
        record(Action.CONTACTS_UPDATED, actor=actor, patient=actor.patient, fields=["email"])
        if old.lower() != email.lower():
            _contacts_changed_notify(user=user, to=old)
    return EmailChangeOutcome.CONFIRMED


# --- Contacts typed by an agent: pending until the person confirms ----------------------------------------
# An agent (CPAM, France services) may type new contacts for a person at the desk or on the phone, but may
# never redirect the person's second factor: the new contacts wait in a ContactChangeRequest and are used
# for nothing (login codes, password resets, provisional codes) until the person confirms, either
#   - from the new contact: a link sent there, opened with the account's password (before activation, with
#     the Vitale card's NIR, model and serial number, which the agent does not see), or
#   - by reading the agent a code sent to the contacts on file (the agent types it in).
# The contacts on file are told at once; once the change takes effect every session of the account ends,
# and for RESET_WITHHELD_DAYS no password-reset link goes to an address an agent put in.

AGENT_CHANGE_VALIDITY = timedelta(days=3)
AGENT_CODE_SECONDS = 15 * 60
AGENT_CHANGE_MAX_ATTEMPTS = 5
RESET_WITHHELD_DAYS = 7


class ContactChangeRefused(Exception):
    """The agent's request cannot be recorded or sent: French message in args[0]."""


class ContactChangeOutcome(StrEnum):
    CONFIRMED = "confirmed"
    WRONG = "wrong"
    THROTTLED = "throttled"
    LOST = "lost"  # expired, cancelled, too many wrong attempts, or already confirmed


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return ""
    return f"{local[:1]}•••@{domain}"


def mask_phone(phone: str) -> str:
    return f"{phone[:2]} •• •• •• {phone[-2:]}" if len(phone) >= 4 else ""


def contacts_in_use(patient: Patient) -> tuple[str, str]:
    """The e-mail and mobile in use: the login's address for an activated person, else the registry's."""
    email = patient.user.email if patient.user_id else patient.email
    return email, patient.phone


def _link_purpose(change: ContactChangeRequest) -> str:
    return f"contact-change-link:{change.public_id}"


def _code_purpose(change: ContactChangeRequest) -> str:
    return f"contact-change-code:{change.public_id}"


def _agent_changes_cancel(*, patient: Patient, actor: Actor) -> None:
    """The person changed their contacts themselves (or activated their space): agents' requests lapse."""
    cancelled = ContactChangeRequest.objects.filter(patient=patient, confirmed_at=None, cancelled_at=None).update(
        cancelled_at=timezone.now()
    )
    if cancelled:
        record(Action.CONTACTS_CHANGE_CANCELLED, actor=actor, patient=patient, reason="superseded")


@transaction.atomic
def agent_contact_change_request(
    *, patient: Patient, email: str, phone: str, check_note: str, by: Actor
) -> ContactChangeRequest:
    """Record the contacts an agent typed, send the confirmation link to the new contact, tell the old one."""
    locked = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=patient.pk)
    current_email, current_phone = contacts_in_use(locked)
    email_changed = email.lower() != current_email.lower()
    phone_changed = phone != current_phone
    if not (email_changed or phone_changed):
        raise ContactChangeRefused("Les coordonnées saisies sont celles déjà enregistrées.")
    if locked.user_id and email_changed and not email:
        raise ContactChangeRefused(
            "Un compte activé garde une adresse e-mail (les codes de connexion y sont envoyés) : "
            "saisissez la nouvelle adresse."
        )
    now = timezone.now()
    previous = ContactChangeRequest.objects.filter(patient=locked, confirmed_at=None, cancelled_at=None)
    if previous.update(cancelled_at=now):
        record(Action.CONTACTS_CHANGE_CANCELLED, actor=by, patient=locked, reason="replaced")
    change = ContactChangeRequest.objects.create(
        patient=locked,
        email_changed=email_changed,
        email=email if email_changed else "",
        phone_changed=phone_changed,
        phone=phone if phone_changed else "",
        requested_by=by.user,
        check_note=check_note[:200],
        expires_at=now + AGENT_CHANGE_VALIDITY,
    )
    token = secrets.token_urlsafe(32)
    change.link_hash = keyed_hash(token, purpose=_link_purpose(change))
    change.save(update_fields=["link_hash", "updated_at"])
    _agent_change_link_send(change=change, patient=locked, token=token)
    _agent_change_requested_notify(change=change, patient=locked, email=current_email, phone=current_phone)
    record(
        Action.CONTACTS_CHANGE_REQUESTED,
        actor=by,
        patient=locked,
        target=change,
        fields=change.fields,
        check=check_note[:200],
    )
    return change


def _agent_change_link_send(*, change: ContactChangeRequest, patient: Patient, token: str) -> None:
    """The link goes to the new e-mail (else the new mobile). It leaves now: it exists in clear only here."""
    url = settings.SITE_URL.rstrip("/") + reverse("accounts:contact_change_link", args=[change.public_id, token])
    context = {
        "first_name": patient.first_name,
        "url": url,
        "expires_at": change.expires_at,
        "activated": patient.user_id is not None,
    }
    if change.email_changed and change.email:
        send_mail(
            subject=render_to_string("emails/accounts/agent_change_link.subject.txt", context).strip(),
            message=render_to_string("emails/accounts/agent_change_link.txt", context),
            from_email=None,
            recipient_list=[change.email],
        )
    elif change.phone_changed and change.phone:
        sms_enqueue(
            to=change.phone, body=render_to_string("emails/accounts/agent_change_link.sms.txt", context).strip()
        )


def _agent_change_requested_notify(*, change: ContactChangeRequest, patient: Patient, email: str, phone: str):
    """Tell the contacts on file at once: what kind of contact, never the new value."""
    context = {
        "first_name": patient.first_name,
        "email_changed": change.email_changed,
        "phone_changed": change.phone_changed,
        "expires_at": change.expires_at,
    }
    if email:
        email_enqueue(
            to=email,
            subject=render_to_string("emails/accounts/agent_change_requested.subject.txt", context).strip(),
            body=render_to_string("emails/accounts/agent_change_requested.txt", context),
        )
    elif phone:
        sms_enqueue(to=phone, body=render_to_string("emails/accounts/agent_change_requested.sms.txt", context).strip())


def agent_change_pending(patient: Patient) -> ContactChangeRequest | None:
    return ContactChangeRequest.objects.open().filter(patient=patient).first()


def agent_code_channels(patient: Patient) -> list[tuple[str, str]]:
    """Where a read-back code can go: the contacts in use, masked for the agent's page."""
    email, phone = contacts_in_use(patient)
    channels = []
    if email:
        channels.append(("email", f"par e-mail à l’adresse actuelle {mask_email(email)}"))
    if phone:
        channels.append(("sms", f"par SMS au mobile actuel {mask_phone(phone)}"))
    return channels


@transaction.atomic
def agent_code_send(*, change: ContactChangeRequest, channel: str, by: Actor) -> bool:
    """Send a six-digit code to the contacts in use, for the person to read to the agent. False when one
    left less than a minute ago."""
    locked = ContactChangeRequest.objects.open().select_for_update().filter(pk=change.pk).first()
    if locked is None:
        raise ContactChangeRefused("Cette demande n’est plus en attente (confirmée, annulée ou expirée).")
    patient = Patient.objects.select_related("user").get(pk=locked.patient_id)
    email, phone = contacts_in_use(patient)
    to = {"email": email, "sms": phone}.get(channel, "")
    if not to:
        raise ContactChangeRefused("Aucune coordonnée actuelle de ce type pour cette personne.")
    now = timezone.now()
    if locked.code_sent_at and (now - locked.code_sent_at).total_seconds() < EMAIL_RESEND_SECONDS:
        return False
    token = f"{secrets.randbelow(1_000_000):06d}"
    locked.code_hash = keyed_hash(token, purpose=_code_purpose(locked))
    locked.code_channel = channel
    locked.code_sent_at = now
    locked.code_valid_until = now + timedelta(seconds=AGENT_CODE_SECONDS)
    locked.save(update_fields=["code_hash", "code_channel", "code_sent_at", "code_valid_until", "updated_at"])
    context = {"token": token, "minutes": AGENT_CODE_SECONDS // 60, "first_name": patient.first_name}
    if channel == "email":
        send_mail(
            subject=render_to_string("emails/accounts/agent_change_code.subject.txt", context).strip(),
            message=render_to_string("emails/accounts/agent_change_code.txt", context),
            from_email=None,
            recipient_list=[to],
        )
    else:
        sms_enqueue(to=to, body=render_to_string("emails/accounts/agent_change_code.sms.txt", context).strip())
    record(Action.CONTACTS_CHANGE_CODE_SENT, actor=by, patient=patient, target=locked, channel=channel)
    return True


def _attempt_failed(change: ContactChangeRequest, *, actor: Actor, step: str) -> ContactChangeOutcome:
    """Count a wrong attempt on the (locked) request; the fifth cancels it."""
    change.failed_attempts += 1
    lost = change.failed_attempts >= AGENT_CHANGE_MAX_ATTEMPTS
    if lost:
        change.cancelled_at = timezone.now()
    change.save(update_fields=["failed_attempts", "cancelled_at", "updated_at"])
    record(Action.CONTACTS_CHANGE_CONFIRM_FAILED, actor=actor, patient=change.patient, step=step, cancelled=lost)
    return ContactChangeOutcome.LOST if lost else ContactChangeOutcome.WRONG


@transaction.atomic
def agent_code_confirm(*, change: ContactChangeRequest, token: str, by: Actor) -> ContactChangeOutcome:
    """The agent types the code the person read: the change takes effect."""
    locked = ContactChangeRequest.objects.open().select_for_update().filter(pk=change.pk).first()
    if locked is None or not locked.code_hash or locked.code_valid_until is None:
        return ContactChangeOutcome.LOST
    if timezone.now() >= locked.code_valid_until:
        return ContactChangeOutcome.LOST
    if not keyed_hash_matches(token, locked.code_hash, purpose=_code_purpose(locked)):
        return _attempt_failed(locked, actor=by, step="code")
    _agent_change_apply(change=locked, how=ContactChangeRequest.How.CODE_READ_BACK, actor=by)
    return ContactChangeOutcome.CONFIRMED


def agent_change_from_link(public_id, token: str) -> ContactChangeRequest | None:
    """The open request a confirmation link names, if the link's secret matches."""
    change = ContactChangeRequest.objects.open().select_related("patient__user").filter(public_id=public_id).first()
    if change is None or not change.link_hash:
        return None
    if not keyed_hash_matches(token, change.link_hash, purpose=_link_purpose(change)):
        return None
    return change


def agent_link_confirm(
    *,
    change: ContactChangeRequest,
    password: str = "",
    nir: str = "",
    card_type: str = "",
    serial: str = "",
) -> ContactChangeOutcome:
    """The person opened the link sent to the new contact and proves who they are: the account's password,
    or (no account yet) the card holder's NIR, Vitale model and serial, as on the activation form."""
    user = change.patient.user
    if user is not None and not user.is_active:
        return ContactChangeOutcome.LOST
    actor = Actor.for_user(user, verified=False) if user is not None else Actor.anonymous()
    by_identifiant, _ = _throttles()
    if user is not None and by_identifiant.admit(user.username):
        record(Action.LOGIN_THROTTLED, actor=actor, portal="contact_change", identifiant=user.username)
        return ContactChangeOutcome.THROTTLED
    with transaction.atomic():
        locked = (
            ContactChangeRequest.objects.open()
            .select_for_update(of=("self",))
            .select_related("patient__card_holder", "patient__user")
            .filter(pk=change.pk)
            .first()
        )
        if locked is None:
            return ContactChangeOutcome.LOST
        if user is not None:
            proven = user.check_password(password)
        else:
            holder = locked.patient.card_holder or locked.patient
            digits = "".join(c for c in serial if c.isdigit())
            proven = (
                bool(digits)
                and holder.nir == nir
                and holder.vitale_card_type == card_type
                and "".join(c for c in holder.vitale_serial if c.isdigit()) == digits
            )
        if not proven:
            return _attempt_failed(locked, actor=actor, step="link")
        _agent_change_apply(change=locked, how=ContactChangeRequest.How.NEW_CONTACT, actor=actor)
    if user is not None:
        by_identifiant.reset(user.username)
    return ContactChangeOutcome.CONFIRMED


def _agent_change_apply(*, change: ContactChangeRequest, how: str, actor: Actor) -> None:
    """The confirmed contacts replace those on file; unused provisional codes die; every session of the
    account ends; the old address is told (inside the caller's transaction)."""
    from activation.models import ProvisionalCode  # activation depends on accounts, not the reverse

    patient = Patient.objects.select_for_update(of=("self",)).select_related("user").get(pk=change.patient_id)
    old_email, _ = contacts_in_use(patient)
    now = timezone.now()
    updates = {name: getattr(change, name) for name in change.fields}
    Patient.objects.filter(pk=patient.pk).update(**updates, updated_at=now)
    if patient.user_id:
        account = {"sessions_valid_after": now, **({"email": change.email} if change.email_changed else {})}
        User.objects.filter(pk=patient.user_id).update(**account)
    ProvisionalCode.objects.filter(patient=patient, used_at=None, voided_at=None).update(voided_at=now)
    change.confirmed_at = now
    change.confirmed_how = how
    change.link_hash = change.code_hash = ""
    change.save(update_fields=["confirmed_at", "confirmed_how", "link_hash", "code_hash", "updated_at"])
    record(
        Action.CONTACTS_UPDATED,
        actor=actor,
        patient=patient,
        target=change,
        fields=change.fields,
        requested_by="agent",
        confirmed=how,
    )
    if old_email and (not change.email_changed or old_email.lower() != change.email.lower()):
        _contacts_changed_notify(user=patient.user, to=old_email, first_name=patient.first_name)


@transaction.atomic
def agent_change_cancel(*, change: ContactChangeRequest, by: Actor) -> bool:
    cancelled = ContactChangeRequest.objects.open().filter(pk=change.pk).update(cancelled_at=timezone.now())
    if cancelled:
        record(Action.CONTACTS_CHANGE_CANCELLED, actor=by, patient=change.patient, reason="agent")
    return bool(cancelled)


def reset_withheld_users():
    """Accounts whose e-mail an agent put in less than RESET_WITHHELD_DAYS ago: no reset link goes there."""
    since = timezone.now() - timedelta(days=RESET_WITHHELD_DAYS)
    return User.objects.filter(
        patient_profile__contact_change_requests__email_changed=True,
        patient_profile__contact_change_requests__confirmed_at__gte=since,
    )


def profile_switch(*, request: HttpRequest, actor: Actor, patient: Patient) -> None:
    """Act for `patient` (already checked by the policy) in this session."""
    own = actor.patient is not None and patient.pk == actor.patient.pk
    if own:
        request.session.pop(SESSION_ACTING_FOR, None)
    else:
        request.session[SESSION_ACTING_FOR] = patient.pk
    record(Action.PROFILE_SWITCHED, actor=actor, patient=patient, target=patient)


def password_reset_request(*, email: str, actor: Actor) -> None:
    """The public form: the same work whether or not the address is known, so neither the answer nor its
    time tells. The lookup and the e-mail happen in a task queued after commit."""
    from accounts.tasks import password_reset_send_task

    record(Action.PASSWORD_RESET_REQUESTED, actor=actor)
    password_reset_send_task.delay_on_commit(email)


def password_reset_send(*, email: str) -> int:
    """Queue a reset link to each patient or professional account with this address. Returns how many."""
    from accounts.forms import PortalPasswordResetForm

    form = PortalPasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    site = urlsplit(settings.SITE_URL)
    users = list(form.get_users(form.cleaned_data["email"]))
    for user in reset_withheld_users().filter(email__iexact=form.cleaned_data["email"]).distinct():
        record(Action.PASSWORD_RESET_WITHHELD, actor=None, patient=getattr(user, "patient_profile", None))
    form.save(
        domain_override=site.netloc,
        use_https=site.scheme == "https",
        subject_template_name="emails/accounts/password_reset.subject.txt",
        email_template_name="emails/accounts/password_reset.txt",
    )
    return len(users)


def password_changed(*, actor: Actor) -> None:
    record(Action.PASSWORD_CHANGED, actor=actor, patient=actor.patient)


# --- Registration (used by the demo seed and, later, by activation and the registry import) ------------


def user_create(
    *,
    username: str,
    kind: UserKind,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None,
    is_staff: bool = False,
) -> User:
    user = User(
        username=username.lower(),
        kind=kind,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_staff,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean()
    user.save()
    return user


def totp_device_add(*, user: User, key_hex: str | None = None, name: str = "application") -> TOTPDevice:
    """Enrol an authenticator application (confirmed: the caller has checked a first code)."""
    device = TOTPDevice(user=user, name=name, confirmed=True)
    if key_hex is not None:
        device.key = key_hex
    device.save()
    return device


@transaction.atomic
def representation_add(*, representative: Patient, represented: Patient, kind: str) -> None:
    from accounts.models import LegalRepresentation

    link = LegalRepresentation(representative=representative, represented=represented, kind=kind)
    link.full_clean()
    link.save()


def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator device with a fresh key; replaces any earlier unconfirmed one."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="application", confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(*, actor: Actor, device: TOTPDevice, token: str) -> bool:
    """Confirm the device when `token` matches; it then replaces the e-mailed code at every login."""
    if not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user=actor.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(Action.SECOND_FACTOR_CHANGED, actor=actor, patient=actor.patient, device="totp")
    return True


def sessions_end_all(*, user: User, actor: Actor) -> None:
    """Logging out ends every session of the account, on every device."""
    User.objects.filter(pk=user.pk).update(sessions_valid_after=timezone.now())
    record(Action.LOGOUT, actor=actor)
