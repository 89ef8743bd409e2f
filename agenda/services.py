"""Every write of the agenda: entries, settings, the subscription feed, reminders and prevention states."""

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import LegalRepresentation, Patient
from agenda import prevention
from agenda.enums import EntryKind, EntrySource, EntryStatus, PreventionState, ReminderKind
from agenda.models import NOTE_MAX_LENGTH, PARIS, AgendaEntry, AgendaSettings, PreventionItem
from agenda.times import instant_window
from catalogue.models import Service
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.crypto.hashing import keyed_hash
from espace_sante.outbox.services import email_enqueue, sms_enqueue

logger = logging.getLogger(__name__)

FEED_HASH_PURPOSE = "agenda-feed"
FEED_READ_TRACE_EVERY = datetime.timedelta(hours=24)
DAY_BEFORE_FROM = datetime.time(18, 0)  # the day-before reminder goes out from 18:00, Paris time
SAME_MORNING_FROM = datetime.time(7, 0)  # the same-morning reminder from 07:00
ENTRY_FIELDS = ("title", "professional_name", "specialty", "address", "starts_at", "ends_at", "all_day", "note")


class NotAllowed(Exception):
    """The rule forbids this change (French message in args[0])."""


# --- Entries ------------------------------------------------------------------------------------------------


def _check_actor(by: Actor, patient: Patient) -> None:
    if not by.acts_for(patient):
        raise NotAllowed("Vous ne pouvez pas modifier l’agenda de cette personne.")


@transaction.atomic
def entry_create(*, patient: Patient, kind: str, by: Actor, **fields) -> AgendaEntry:
    """Add an appointment or a free reminder to `patient`'s agenda (the patient or a representative)."""
    _check_actor(by, patient)
    entry = AgendaEntry(patient=patient, kind=kind, **{name: fields[name] for name in ENTRY_FIELDS if name in fields})
    entry.full_clean()
    entry.save()
    record(Action.AGENDA_ENTRY_CREATED, actor=by, patient=patient, target=entry)
    return entry


@transaction.atomic
def entry_update(*, entry: AgendaEntry, by: Actor, **fields) -> AgendaEntry:
    _check_actor(by, entry.patient)
    if entry.status == EntryStatus.CANCELLED:
        raise NotAllowed("Un rendez-vous annulé ne peut plus être modifié.")
    for name in ENTRY_FIELDS:
        if name in fields:
            setattr(entry, name, fields[name])
    entry.version += 1
    entry.full_clean()
    entry.save()
    record(Action.AGENDA_ENTRY_CHANGED, actor=by, patient=entry.patient, target=entry)
    return entry


@transaction.atomic
def entry_cancel(*, entry: AgendaEntry, by: Actor) -> None:
    """Planned → cancelled (compare-and-set: a double submit changes nothing). No reminder follows."""
    _check_actor(by, entry.patient)
    updated = AgendaEntry.objects.filter(pk=entry.pk, status=EntryStatus.PLANNED).update(
        status=EntryStatus.CANCELLED, updated_at=timezone.now(), version=F("version") + 1
    )
    if updated != 1:
        raise NotAllowed("Ce rendez-vous est déjà annulé.")
    entry.status = EntryStatus.CANCELLED
    entry.version += 1
    record(Action.AGENDA_ENTRY_CANCELLED, actor=by, patient=entry.patient, target=entry)


@transaction.atomic
def entry_delete(*, entry: AgendaEntry, by: Actor) -> None:
    _check_actor(by, entry.patient)
    record(Action.AGENDA_ENTRY_DELETED, actor=by, patient=entry.patient, target=entry)
    entry.delete()


class DuplicateIdentifier(NotAllowed):
    """The service already sent an appointment with this identifier for this patient: nothing is stored."""


@transaction.atomic
def entry_add_from_service(
    *,
    patient: Patient,
    service: Service,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None,
    description: str = "",
    professional_name: str = "",
    identifier: str = "",
    by: Actor,
) -> AgendaEntry:
    """An appointment sent by a connected service (FHIR Appointment) that the patient authorised: the caller
    has checked the connection and its scope. The professional is the one the service named, else the service
    itself; the description is kept as the entry's note. Dates must lie in the agenda's window (ten years either
    way), like the patient's form. A second appointment with the same non-empty `identifier` from the same
    service raises DuplicateIdentifier, and nothing is stored. Reminders, views and exports treat it like any
    other entry; traced under the service's name."""
    first, last = instant_window()
    for moment in (starts_at, ends_at):
        if moment is not None and not first <= moment <= last:
            raise ValidationError(
                f"Le rendez-vous doit avoir lieu entre le {first:%d/%m/%Y} et le {last:%d/%m/%Y}.", code="window"
            )
    if len(description.strip()) > NOTE_MAX_LENGTH:
        raise ValidationError(f"La description ne doit pas dépasser {NOTE_MAX_LENGTH} caractères.", code="long")
    identifier = (identifier or "").strip()
    duplicate = DuplicateIdentifier(
        "Ce service a déjà transmis un rendez-vous avec cet identifiant pour ce patient : "
        "il n’est pas ajouté deux fois."
    )
    if (
        identifier
        and AgendaEntry.objects.filter(patient=patient, source_service=service, source_identifier=identifier).exists()
    ):
        raise duplicate
    entry = AgendaEntry(
        patient=patient,
        kind=EntryKind.APPOINTMENT,
        source=EntrySource.SERVICE,
        source_service=service,
        source_identifier=identifier,
        professional_name=(professional_name.strip() or service.name)[:150],
        starts_at=starts_at,
        ends_at=ends_at,
        note=description.strip(),
    )
    entry.full_clean()
    try:
        with transaction.atomic():  # a concurrent twin hits the unique constraint: same answer
            entry.save()
    except IntegrityError as error:
        raise duplicate from error
    record(Action.AGENDA_ENTRY_CREATED, actor=by, patient=patient, target=entry)
    return entry


def export_trace(*, by: Actor, patients: list[Patient], everything: bool) -> None:
    """Trace an .ics download (one event or everything) in each concerned profile's history."""
    for patient in patients:
        record(
            Action.AGENDA_EXPORTED,
            actor=by,
            patient=patient,
            target_label="tout l’agenda" if everything else "un événement",
        )


# --- Settings and the subscription feed ---------------------------------------------------------------------


def settings_of(patient: Patient) -> AgendaSettings:
    """The profile's settings, or the defaults (unsaved) when the profile never changed them."""
    existing = AgendaSettings.objects.filter(patient=patient).first()
    return existing or AgendaSettings(patient=patient)


@transaction.atomic
def settings_update(
    *, patient: Patient, by: Actor, reminders_enabled: bool, prevention_enabled: bool, feed_detail: str | None = None
) -> AgendaSettings:
    _check_actor(by, patient)
    settings_, _ = AgendaSettings.objects.select_for_update().get_or_create(patient=patient)
    settings_.reminders_enabled = reminders_enabled
    settings_.prevention_enabled = prevention_enabled
    if feed_detail is not None:
        settings_.feed_detail = feed_detail
    settings_.full_clean()
    settings_.save()
    record(
        Action.AGENDA_SETTINGS_CHANGED,
        actor=by,
        patient=patient,
        target_label="réglages de l’agenda",
        reminders=reminders_enabled,
        prevention=prevention_enabled,
        feed_detail=settings_.feed_detail,
    )
    return settings_


@transaction.atomic
def feed_renew(*, by: Actor) -> str:
    """Create (or replace) the account holder's private feed link. Returns the token, shown once; only its
    keyed hash is stored, so the previous link stops working at once."""
    owner = by.patient
    if owner is None or not by.is_verified_patient:
        raise NotAllowed("Seul le titulaire du compte peut créer un lien d’abonnement.")
    token = secrets.token_urlsafe(32)
    settings_, _ = AgendaSettings.objects.select_for_update().get_or_create(patient=owner)
    renewed = settings_.has_feed
    settings_.feed_token_hash = keyed_hash(token, purpose=FEED_HASH_PURPOSE)
    settings_.feed_created_at = timezone.now()
    settings_.feed_last_read_at = None
    settings_.save()
    record(Action.AGENDA_FEED_CREATED, actor=by, patient=owner, target_label="lien d’abonnement", renewed=renewed)
    return token


@transaction.atomic
def feed_revoke(*, by: Actor) -> None:
    owner = by.patient
    if owner is None or not by.is_verified_patient:
        raise NotAllowed("Seul le titulaire du compte peut révoquer le lien d’abonnement.")
    updated = (
        AgendaSettings.objects.filter(patient=owner)
        .exclude(feed_token_hash="")
        .update(feed_token_hash="", feed_created_at=None, feed_last_read_at=None, updated_at=timezone.now())
    )
    if updated:
        record(Action.AGENDA_FEED_REVOKED, actor=by, patient=owner, target_label="lien d’abonnement")


@transaction.atomic
def feed_revoke_for_space_end(*, patient: Patient, by: Actor | None, reason: str) -> bool:
    """Revoke the private feed of a profile whose space ends (closure, death, deletion)."""
    updated = (
        AgendaSettings.objects.filter(patient=patient)
        .exclude(feed_token_hash="")
        .update(feed_token_hash="", feed_created_at=None, feed_last_read_at=None, updated_at=timezone.now())
    )
    if updated:
        record(
            Action.AGENDA_FEED_REVOKED,
            actor=by,
            patient=patient,
            target_label="lien d’abonnement",
            reason=reason,
        )
    return bool(updated)


def feed_read_trace(settings_: AgendaSettings) -> None:
    """Note that a calendar application read the feed: the date is shown to the patient, and the access
    history gets one line a day at most (applications poll every few minutes)."""
    now = timezone.now()
    last = settings_.feed_last_read_at
    AgendaSettings.objects.filter(pk=settings_.pk).update(feed_last_read_at=now)
    if last is None or now - last >= FEED_READ_TRACE_EVERY:
        record(
            Action.AGENDA_FEED_READ,
            actor=Actor.anonymous(),
            patient=settings_.patient,
            target_label="lien d’abonnement",
        )


# --- Reminders ----------------------------------------------------------------------------------------------


def due_reminders(entry: AgendaEntry, now: datetime.datetime) -> list[str]:
    """Reminder kinds due at `now` for this entry: the day before from 18:00, the same day from 07:00 (Paris),
    never once the entry has started (an all-day entry: once its day is over) or when it is cancelled."""
    if entry.status != EntryStatus.PLANNED:
        return []
    over = (entry.ends_at or entry.starts_at) if entry.all_day else entry.starts_at
    if now >= over:
        return []
    local_now = timezone.localtime(now, PARIS)
    day = entry.local_start.date()
    kinds = []
    if local_now.date() == day - datetime.timedelta(days=1) and local_now.time() >= DAY_BEFORE_FROM:
        kinds.append(ReminderKind.DAY_BEFORE)
    if local_now.date() == day and local_now.time() >= SAME_MORNING_FROM:
        kinds.append(ReminderKind.SAME_MORNING)
    return kinds


def reminder_recipients(patient: Patient) -> list[Patient]:
    """Who is told: the person if they have an account and an e-mail, and their current legal representatives."""
    recipients = []
    if patient.user_id and patient.email:
        recipients.append(patient)
    links = (
        LegalRepresentation.objects.active()
        .filter(represented=patient)
        .select_related("representative")
        .order_by("representative__pk")
    )
    for link in links:
        representative = link.representative
        if representative.email and all(r.pk != representative.pk for r in recipients):
            recipients.append(representative)
    return recipients


@dataclass(frozen=True)
class ReminderMessage:
    subject: str
    body: str
    sms: str


def _reminder_message(entry: AgendaEntry, kind: str, recipient: Patient) -> ReminderMessage:
    # No medical content: neither the professional, the specialty, the title nor the note.
    context = {
        "recipient": recipient,
        "patient": entry.patient,
        "for_self": recipient.pk == entry.patient_id,
        "entry": entry,
        "is_appointment": entry.kind == EntryKind.APPOINTMENT,
        "when": "demain" if kind == ReminderKind.DAY_BEFORE else "aujourd’hui",
        "time": None if entry.all_day else entry.local_start,
    }
    subject = render_to_string("emails/agenda/reminder.subject.txt", context).strip()
    body = render_to_string("emails/agenda/reminder.txt", context)
    sms = render_to_string("emails/agenda/reminder_sms.txt", context).strip()
    return ReminderMessage(subject=subject, body=body, sms=sms)


def reminder_key(entry: AgendaEntry, kind: str, recipient: Patient, channel: str) -> str:
    """One message per entry, reminder kind, start time, recipient and channel: never twice for the same
    occurrence; a moved appointment is reminded again at its new date."""
    stamp = int(entry.starts_at.timestamp())
    short = {ReminderKind.DAY_BEFORE: "j-1", ReminderKind.SAME_MORNING: "j0"}[kind]
    return f"agenda:{entry.public_id.hex}:{short}:{stamp}:{recipient.pk}:{channel}"  # ≤ 100 characters


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Queue the reminders due now (e-mail, and SMS where a phone is on file). Returns the e-mails queued.

    Safe to run as often as wanted: the outbox refuses a dedupe key it already holds.
    """
    now = now or timezone.now()
    horizon = now + datetime.timedelta(days=2)
    entries = (
        AgendaEntry.objects.planned()
        .filter(starts_at__lt=horizon)
        .filter(Q(all_day=True, ends_at__gt=now) | Q(all_day=False, starts_at__gt=now))
        .select_related("patient")
        .order_by("starts_at", "pk")
    )
    disabled = set(
        AgendaSettings.objects.filter(
            patient__in={e.patient_id for e in entries}, reminders_enabled=False
        ).values_list("patient_id", flat=True)
    )
    sent = 0
    for entry in entries:
        if entry.patient_id in disabled:
            continue
        for kind in due_reminders(entry, now):
            sent += _send_one(entry, kind)
    return sent


@transaction.atomic
def _send_one(entry: AgendaEntry, kind: str) -> int:
    sent = 0
    for recipient in reminder_recipients(entry.patient):
        message = _reminder_message(entry, kind, recipient)
        queued = email_enqueue(
            to=recipient.email,
            subject=message.subject,
            body=message.body,
            dedupe_key=reminder_key(entry, kind, recipient, "email"),
        )
        if queued is None:
            continue
        sent += 1
        if recipient.phone:
            sms_enqueue(to=recipient.phone, body=message.sms, dedupe_key=reminder_key(entry, kind, recipient, "sms"))
        record(Action.AGENDA_REMINDER_SENT, actor=None, patient=entry.patient, target=entry, kind=kind)
    return sent


# --- Prevention ---------------------------------------------------------------------------------------------


@transaction.atomic
def prevention_state_set(
    *, patient: Patient, code: str, state: str, done_on: datetime.date | None, by: Actor
) -> PreventionItem:
    """Record the state the patient chose for one suggested milestone (à planifier, fait le…, non fait,
    non concerné)."""
    _check_actor(by, patient)
    rule = prevention.RULES_BY_CODE.get(code)
    if rule is None or not prevention.applies(rule, patient.sex):
        raise NotAllowed("Cette recommandation n’existe pas.")
    if state == PreventionState.DONE:
        if done_on is None:
            raise ValidationError({"done_on": "Indiquez la date à laquelle c’est fait."})
        if done_on > timezone.localdate() or done_on < patient.birth_date:
            raise ValidationError({"done_on": "La date doit être comprise entre la naissance et aujourd’hui."})
    else:
        done_on = None
    item, _ = PreventionItem.objects.select_for_update().get_or_create(patient=patient, code=code)
    item.state = state
    item.done_on = done_on
    item.full_clean()
    item.save()
    record(Action.PREVENTION_STATE_CHANGED, actor=by, patient=patient, target_label="rappel de prévention", code=code)
    return item


def profile_vaccination_available() -> bool:
    """True once the medical profile offers a service that records a vaccination (see below)."""
    try:
        from profil import services as profil_services
    except ImportError:
        return False
    return hasattr(profil_services, "vaccination_add")


def vaccination_record_in_profile(*, patient: Patient, rule_code: str, done_on: datetime.date, by: Actor):
    """Record a vaccination marked done in the medical profile, in one step ("Ajouter à mon profil médical").

    To be wired to the profil app's service: this calls `profil.services.vaccination_add(patient=…, vaccine=…,
    given_on=…, by=…)` when it exists (see `profile_vaccination_available`), and raises NotAllowed otherwise.
    """
    rule = prevention.RULES_BY_CODE.get(rule_code)
    if rule is None or not rule.is_vaccination:
        raise NotAllowed("Seule une vaccination peut être ajoutée au profil médical.")
    if not profile_vaccination_available():
        raise NotAllowed("L’ajout au profil médical n’est pas encore disponible.")
    from profil.services import vaccination_add

    return vaccination_add(patient=patient, vaccine=rule.vaccine, given_on=done_on, by=by)
