"""Every write of the catalogue: connections, reports, referencing decisions, and what services send."""

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from accounts.models import Patient
from catalogue.actor import ServiceActor
from catalogue.enums import ConnectionStatus, DisconnectReason, ServiceStatus
from catalogue.models import Connection, Purpose, Service, ServiceReport
from espace_sante.access import policy
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.outbox.services import email_enqueue

REMINDER_PERIOD = datetime.timedelta(days=90)


class NotAllowed(Exception):
    """A French message for the person, raised when a rule forbids the change."""


def _recipient(patient: Patient) -> str:
    """The e-mail of the person, or for a profile without a login (a child), the card holder's."""
    if patient.user_id and patient.user.email:
        return patient.user.email
    holder = patient.card_holder or patient
    return holder.email


def _site_url(path: str) -> str:
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{path}"


# --- Connections ---------------------------------------------------------------------------------------


@transaction.atomic
def connection_save(*, service: Service, patient: Patient, purposes: list[Purpose], by: Actor) -> Connection:
    """Connect `service` to `patient` with the accepted purposes, or change the purposes of the live
    connection (which also confirms a connection made during the patient's minority)."""
    if not by.acts_for(patient):
        raise PermissionDenied
    if not service.is_online:
        raise NotAllowed("Ce service n’est pas disponible pour le moment : il ne peut pas être connecté.")
    if not purposes:
        raise NotAllowed("Cochez au moins une finalité pour connecter ce service.")
    if any(purpose.service_id != service.pk for purpose in purposes):
        raise NotAllowed("Une finalité ne correspond pas à ce service.")
    connection = Connection.objects.live().select_for_update().filter(service=service, patient=patient).first()
    purpose_ids = sorted(purpose.pk for purpose in purposes)
    if connection is None:
        connection = Connection(
            service=service, patient=patient, connected_by=by.user, made_while_minor=patient.is_minor
        )
        connection.full_clean()
        connection.save()
        connection.purposes.set(purposes)
        record(Action.SERVICE_CONNECTED, actor=by, patient=patient, target=connection, purposes=purpose_ids)
        return connection
    reapproved = connection.status == ConnectionStatus.REAPPROVAL
    connection.purposes.set(purposes)
    connection.purposes_changed_at = timezone.now()
    if reapproved:
        connection.status = ConnectionStatus.ACTIVE
        connection.made_while_minor = patient.is_minor
        connection.connected_by = by.user
    connection.save()
    action = Action.SERVICE_REAPPROVED if reapproved else Action.SERVICE_PURPOSES_CHANGED
    record(action, actor=by, patient=patient, target=connection, purposes=purpose_ids)
    return connection


def tokens_revoke(connection: Connection) -> int:
    """Cut the service off at once: expire its access tokens, revoke its refresh tokens, drop its codes.
    Rows are kept (expired) so a later call with the old token is still traced in the patient's history."""
    now = timezone.now()
    tag = connection.scope_tag
    expired = (
        get_access_token_model()
        .objects.filter(scope__contains=tag, expires__gt=now)
        .update(expires=now - datetime.timedelta(seconds=1))
    )
    get_refresh_token_model().objects.filter(access_token__scope__contains=tag, revoked__isnull=True).update(
        revoked=now
    )
    get_grant_model().objects.filter(scope__contains=tag).delete()
    return expired


def _token_family_revoke(token_family) -> int:
    """Expire the access tokens and revoke the refresh tokens of one refresh-token family (every pair issued
    from one authorization code, rotations included). Rows are kept, as in tokens_revoke."""
    if token_family is None:
        return 0
    now = timezone.now()
    refresh_tokens = get_refresh_token_model().objects.filter(token_family=token_family)
    expired = (
        get_access_token_model()
        .objects.filter(pk__in=refresh_tokens.values("access_token_id"), expires__gt=now)
        .update(expires=now - datetime.timedelta(seconds=1))
    )
    refresh_tokens.filter(revoked__isnull=True).update(revoked=now, updated=now)
    return expired


def connection_from_scopes(scopes) -> Connection | None:
    """The connection a token's scopes name (its `connection:<public_id>` tag), or None."""
    from uuid import UUID

    tags = [scope.removeprefix("connection:") for scope in scopes or () if scope.startswith("connection:")]
    try:
        return Connection.objects.select_related("service", "patient").filter(public_id=UUID(tags[0])).first()
    except (IndexError, ValueError):
        return None


@transaction.atomic
def authorization_code_use_record(*, code: str, client_id: str, scopes, token_family) -> bool:
    """Remember that `code` was exchanged (its checksum only) and which token family it started. False when
    it was already recorded: a concurrent second exchange, handled as a replay by the caller."""
    from catalogue.models import AuthorizationCodeUse

    _use, created = AuthorizationCodeUse.objects.get_or_create(
        code_checksum=hashlib.sha256(code.encode("utf-8")).hexdigest(),
        defaults={
            "client_id": client_id,
            "connection": connection_from_scopes(scopes),
            "token_family": token_family,
        },
    )
    return created


@transaction.atomic
def authorization_code_replay(*, code: str, client_id: str, extra_token_family=None) -> bool:
    """A used authorization code presented again (RFC 6749 §4.1.2): revoke every token issued from it, and
    trace the refusal in the patient's history. False when the code was never used (unknown or expired)."""
    from catalogue.models import AuthorizationCodeUse

    use = (
        AuthorizationCodeUse.objects.select_for_update(of=("self",))
        .select_related("connection__service", "connection__patient")
        .filter(code_checksum=hashlib.sha256(code.encode("utf-8")).hexdigest(), client_id=client_id)
        .first()
    )
    if use is None:
        return False
    revoked = _token_family_revoke(use.token_family)
    if extra_token_family is not None and extra_token_family != use.token_family:
        revoked += _token_family_revoke(extra_token_family)
    AuthorizationCodeUse.objects.filter(pk=use.pk).update(replayed_at=timezone.now())
    connection = use.connection
    record(
        Action.SERVICE_API_REFUSED,
        actor=ServiceActor.for_service(connection.service) if connection else None,
        patient=connection.patient if connection else None,
        reason="code_replayed",
        tokens_revoked=revoked,
    )
    return True


@transaction.atomic
def connection_disconnect(
    *, connection: Connection, by: Actor | None, reason: str = DisconnectReason.PATIENT
) -> Connection:
    if by is not None and reason == DisconnectReason.PATIENT and not by.acts_for(connection.patient):
        raise PermissionDenied
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status == ConnectionStatus.DISCONNECTED:
        return connection
    connection.status = ConnectionStatus.DISCONNECTED
    connection.disconnected_at = timezone.now()
    connection.disconnect_reason = reason
    connection.save()
    revoked = tokens_revoke(connection)
    record(
        Action.SERVICE_DISCONNECTED,
        actor=by,
        patient=connection.patient,
        target=connection,
        reason=reason,
        tokens_revoked=revoked,
    )
    return connection


@transaction.atomic
def connections_end_for_space_end(*, patient: Patient, by: Actor | None) -> int:
    """End every live connection of a profile whose space ends (closure, death, deletion): tokens revoked at
    once; reopening the space does not reconnect the services (the patient consents again)."""
    live = list(Connection.objects.live().filter(patient=patient))
    for connection in live:
        connection_disconnect(connection=connection, by=by, reason=DisconnectReason.SPACE_CLOSED)
    return len(live)


@transaction.atomic
def connections_pause_after_majority(*, today: datetime.date | None = None) -> int:
    """Connections made for a minor who is now an adult wait for the young adult's confirmation."""
    paused = 0
    candidates = Connection.objects.active().filter(made_while_minor=True).select_related("patient", "service")
    for connection in candidates:
        if connection.patient.is_minor:
            continue
        connection.status = ConnectionStatus.REAPPROVAL
        connection.save(update_fields=["status"])
        tokens_revoke(connection)
        record(Action.SERVICE_CONNECTION_PAUSED, actor=None, patient=connection.patient, target=connection)
        paused += 1
    return paused


def reminders_send(*, now: datetime.datetime | None = None) -> int:
    """E-mail every profile whose connected services were last listed 90 days ago (or never)."""
    now = now or timezone.now()
    due_before = now - REMINDER_PERIOD
    connections = (
        Connection.objects.live()
        .filter(connected_at__lte=due_before)
        .select_related("patient__user", "patient__card_holder", "service")
        .order_by("patient_id", "service__name")
    )
    by_patient: dict[int, list[Connection]] = {}
    for connection in connections:
        by_patient.setdefault(connection.patient_id, []).append(connection)
    sent = 0
    for patient_connections in by_patient.values():
        last = max((c.last_reminder_at for c in patient_connections if c.last_reminder_at), default=None)
        if last is not None and last > due_before:
            continue
        with transaction.atomic():
            sent += _reminder_send(patient_connections, now=now)
    return sent


def _reminder_send(connections: list[Connection], *, now: datetime.datetime) -> int:
    patient = connections[0].patient
    to = _recipient(patient)
    Connection.objects.filter(pk__in=[c.pk for c in connections]).update(last_reminder_at=now)
    if not to:
        return 0
    period = (now.date() - datetime.date(2000, 1, 1)).days // REMINDER_PERIOD.days
    context = {
        "patient": patient,
        "services": [c.service.name for c in connections],
        "url": _site_url(reverse("catalogue:connections")),
    }
    message = email_enqueue(
        to=to,
        subject=render_to_string("emails/catalogue/reminder.subject.txt", context).strip(),
        body=render_to_string("emails/catalogue/reminder.txt", context),
        dedupe_key=f"catalogue-reminder:{patient.public_id}:{period}",
    )
    return 1 if message is not None else 0


# --- Reports and referencing -----------------------------------------------------------------------------


@transaction.atomic
def report_create(*, service: Service, reason: str, message: str, by: Actor) -> ServiceReport:
    report = ServiceReport(service=service, reason=reason, message=message.strip(), reported_by=by.user)
    report.full_clean()
    report.save()
    record(Action.SERVICE_REPORTED, actor=by, patient=by.acting_for, target=service, reason=reason)
    return report


@transaction.atomic
def reports_mark_handled(*, reports, by: Actor) -> int:
    pending = list(reports.filter(handled_at__isnull=True))
    now = timezone.now()
    for report in pending:
        report.handled_at = now
        report.save(update_fields=["handled_at"])
        record(Action.SERVICE_STATUS_CHANGED, actor=by, target=report.service, report=str(report.public_id))
    return len(pending)


@transaction.atomic
def service_status_set(*, service: Service, status: str, by: Actor) -> Service:
    """Put a service online, offline or suspended (a suspended service's API calls are refused)."""
    if status == ServiceStatus.DEREFERENCED:
        return service_dereference(service=service, by=by)
    if service.status == ServiceStatus.DEREFERENCED:
        raise NotAllowed("Un service déréférencé ne peut plus changer de statut.")
    previous = service.status
    service.status = status
    service.status_changed_at = timezone.now()
    service.full_clean()
    service.save()
    record(Action.SERVICE_STATUS_CHANGED, actor=by, target=service, previous=previous, status=status)
    return service


@transaction.atomic
def service_dereference(*, service: Service, by: Actor) -> Service:
    """Dereference a service: every connection ends (tokens revoked) and each patient is told by e-mail."""
    service.status = ServiceStatus.DEREFERENCED
    service.status_changed_at = timezone.now()
    service.save()
    record(Action.SERVICE_DEREFERENCED, actor=by, target=service)
    live = Connection.objects.live().filter(service=service).select_related("patient__user", "patient__card_holder")
    for connection in live:
        connection_disconnect(connection=connection, by=None, reason=DisconnectReason.DEREFERENCED)
        to = _recipient(connection.patient)
        if not to:
            continue
        context = {
            "patient": connection.patient,
            "service": service.name,
            "url": _site_url(reverse("catalogue:connections")),
        }
        email_enqueue(
            to=to,
            subject=render_to_string("emails/catalogue/dereferenced.subject.txt", context).strip(),
            body=render_to_string("emails/catalogue/dereferenced.txt", context),
            dedupe_key=f"catalogue-dereferenced:{connection.public_id}",
        )
    return service


def service_application_ensure(*, service: Service, redirect_uris: str) -> Service:
    """Give the service its OAuth client (public, authorization code with PKCE, ID tokens signed RS256), once.
    The referencing staff's pages and `manage.py client_oauth_service` use catalogue/oauth_clients.py."""
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    if service.application is None:
        application = Application.objects.create(
            name=service.name,
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=redirect_uris,
            skip_authorization=False,
            algorithm=Application.RS256_ALGORITHM,
        )
        service.oauth_client_id = application.client_id
        service.save(update_fields=["oauth_client_id"])
    return service


# --- What connected services send (FHIR, see catalogue/api.py) --------------------------------------------
# Measures and appointments are written by profil.services.measure_add_from_service and
# agenda.services.entry_add_from_service: the apps that own them.


@transaction.atomic
def service_document_add(
    *, connection: Connection, title: str, category: str, content: bytes, filename: str, by: ServiceActor
):
    """A document authored by the service, put into the patient's record (type checked from the content), only
    in a category open to services (never as the patient's advance directives, see the policy)."""
    from dossier.enums import AuthorKind, DocumentCategory
    from dossier.files import check_upload
    from dossier.habilitations import SERVICE_WRITABLE_CATEGORIES
    from dossier.models import MAX_UPLOAD_BYTES
    from dossier.services import document_add_generated

    if not policy.can_service_file_document(connection, category):
        allowed = ", ".join(sorted(DocumentCategory(c).label for c in SERVICE_WRITABLE_CATEGORIES))
        raise NotAllowed(
            f"Un service connecté ne peut pas déposer de document dans cette catégorie (possibles : {allowed})."
        )
    checked = check_upload(content, filename, max_bytes=MAX_UPLOAD_BYTES)
    return document_add_generated(
        patient=connection.patient,
        by=by,
        content=checked.content,
        filename=checked.filename,
        content_type=checked.content_type,
        title=title,
        category=category,
        author_kind=AuthorKind.SERVICE,
        author_label=connection.service.name,
    )


def api_refusal_record(*, by: ServiceActor | None, patient: Patient | None, reason: str, **data) -> None:
    """Trace a refused API call (in the patient's history when the token told who the patient is)."""
    record(Action.SERVICE_API_REFUSED, actor=by, patient=patient, reason=reason, **data)
