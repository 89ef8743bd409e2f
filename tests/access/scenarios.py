"""The world of tests/access/test_every_method.py: a victim's objects of every kind, and the attackers.

Camille is the victim: she owns one object of every kind a URL can name, each carrying a secret marker
that must never reach anyone who may not read it, and a result Dr Martin holds for announcement (R.1111-53),
which she may not read yet. Léo (Julien's son) owns a copy of the kinds a legal representative manages, and
a few items kept from representatives (a minor's secret document, one Dr Martin added through the service,
a confidential conversation with an unflagged reply and its attachment). Julien's daughter Emma is the
object of the "children attached to my card" URLs.

Built once per module inside a transaction the module rolls back (`world` fixture in the test module).
"""

import datetime
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.files.base import ContentFile
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from accounts.demo import Personas, seed
from accounts.models import EmailOTPDevice, TOTPDevice, User
from activation.models import Closure, HealthSpace, Opposition
from agenda import services as agenda_services
from agenda.models import AgendaEntry, AgendaSettings, PreventionItem
from catalogue.models import Connection, Purpose
from dossier import services as dossier_services
from dossier.enums import AuthorKind, DocumentCategory
from dossier.files import CheckedFile
from dossier.models import CareTeamMember, Document, EmergencyAccess, MedicalRecord, ShareLink
from espace_sante.access.actor import Actor
from espace_sante.access.middleware import SESSION_ACTING_FOR, SESSION_EMERGENCIES, SESSION_LOGIN_AT
from espace_sante.crypto.storage import encrypted_storage
from messagerie.models import Attachment, Conversation, Message, MessagingBlock
from profil import services as profil_services
from profil.models import HealthProfile, Measure, ProfileEntry, ProfileProfessional
from profil.sections import SECTIONS
from tests.catalogue.helpers import make_service
from tests.conftest import PERSONA_USERS
from tests.messagerie.factories import pdf_file, reply, start

SESSION_SEARCHED = "pro_searched_patients"  # dossier.views.pro.SESSION_SEARCHED
SESSION_MESSAGING_SEARCHED = "messagerie_searched_patients"  # messagerie.views.pro.SESSION_SEARCHED
PREVENTION_CODE = "rappel-25-ans"  # a milestone that applies to both sexes


def marker(label: str) -> str:
    """A string no page shows unless it shows this very object (letters and digits: escaping keeps it)."""
    return f"Secret{label}{uuid.uuid4().hex[:10]}"


def pdf_with(text: str) -> bytes:
    return f"%PDF-1.4\n% {text}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".encode()


@dataclass
class World:
    personas: Personas
    # (kind, target) -> URL kwargs; target: "victim" (Camille's, or the route's owner's), "child" (Léo's),
    # "child_hidden" (Léo's, kept from representatives), "stale" (a dead credential of the victim's).
    kwargs: dict[tuple[str, str], dict] = field(default_factory=dict)
    camille_markers: list[str] = field(default_factory=list)
    hidden_from_pros: list[str] = field(default_factory=list)  # Camille's, hidden from professionals
    leo_markers: list[str] = field(default_factory=list)
    leo_hidden_markers: list[str] = field(default_factory=list)
    held_markers: list[str] = field(default_factory=list)  # Camille's result held for announcement
    bearer: dict[str, str] = field(default_factory=dict)  # scenario -> raw access token
    sessions: dict[tuple[str, str], str] = field(default_factory=dict)  # (scenario, persona) -> session key
    fingerprint_sql: dict[tuple, tuple[str, list]] = field(default_factory=dict)
    authorize_query: str = ""
    emergency_id: str = ""


def _document(patient, *, title: str, category=DocumentCategory.BIOLOGIE, **flags) -> Document:
    public_id = uuid.uuid4()
    content = pdf_with(title)
    name = encrypted_storage().save(f"documents/{patient.public_id}/{public_id}", ContentFile(content))
    return Document.objects.create(
        public_id=public_id,
        patient=patient,
        title=title,
        category=category,
        care_date=datetime.date(2026, 1, 15),
        author_kind=AuthorKind.PATIENT,
        file_name=name,
        content_type="application/pdf",
        size=len(content),
        original_filename=f"{title}.pdf",
        **flags,
    )


def _actor(patient) -> Actor:
    """The patient, or for a child without an account their first representative acting for them."""
    if patient.user is not None:
        return Actor.for_user(patient.user, verified=True)
    representative = patient.representatives.select_related("representative__user").first().representative
    return Actor.for_user(representative.user, verified=True, acting_for_id=patient.pk)


def _token(world: World, scenario: str, connection: Connection, scopes: str) -> None:
    from oauth2_provider.models import AccessToken, Application

    raw = f"jeton-{scenario}-{uuid.uuid4().hex}"
    AccessToken.objects.create(
        user=connection.patient.user,
        application=Application.objects.get(client_id=connection.service.oauth_client_id),
        token=raw,
        expires=timezone.now() + datetime.timedelta(hours=2),
        scope=f"{scopes} {connection.scope_tag}".strip(),
    )
    world.bearer[scenario] = raw


def _software_token(world: World, scenario: str) -> None:
    """An establishment's software client (issue 17) with every system scope it may get: no patient-bound
    resource type serves it, whatever its scopes."""
    from oauth2_provider.models import AccessToken

    from accounts.establishments import establishment_create, software_client_save
    from accounts.models import SoftwareClient
    from accounts.software import SYSTEM_SCOPES

    establishment = establishment_create(finess="310781406", name="CHU de Toulouse", kind="hopital", by=None)
    software = software_client_save(
        software=SoftwareClient(name="DxCare", establishment=establishment, oauth_jwks_uri="https://chu.example/jwks"),
        by=None,
    )
    raw = f"jeton-{scenario}-{uuid.uuid4().hex}"
    AccessToken.objects.create(
        user=None,
        application=software.application,
        token=raw,
        expires=timezone.now() + datetime.timedelta(hours=2),
        scope=" ".join([*SYSTEM_SCOPES, software.scope_tag]),
    )
    world.bearer[scenario] = raw


def build_world() -> World:  # noqa: PLR0915 - one flat recipe reads best
    p = seed()
    world = World(personas=p)
    camille, leo, julien = p.camille, p.leo, p.julien
    m = world.camille_markers.append
    lm = world.leo_markers.append
    lhm = world.leo_hidden_markers.append

    # --- dossier: documents, share links --------------------------------------------------------------------
    title = marker("CamilleDoc")
    m(title)
    doc = _document(camille, title=title)
    hidden_title = marker("CamilleHiddenFromPros")
    world.hidden_from_pros.append(hidden_title)
    _document(camille, title=hidden_title, hidden_from_professionals=True)
    leo_title, leo_hidden_title = marker("LeoDoc"), marker("LeoSecretDoc")
    lm(leo_title)
    lhm(leo_hidden_title)
    leo_doc = _document(leo, title=leo_title)
    leo_hidden_doc = _document(leo, title=leo_hidden_title, hidden_from_representatives=True)
    # Added by Dr Martin through the service, as professionals do: the secret and the held result leave
    # their traces in the access log and the outbox, which must not tell them.
    for patient, label, flags, add in (
        (leo, "LeoSecretParLeMedecin", {"hidden_from_representatives": True}, lhm),
        (camille, "CamilleResultatEnAttente", {"held_for_announcement": True}, world.held_markers.append),
    ):
        secret_title = marker(label)
        add(secret_title)
        dossier_services.document_add(
            patient=patient,
            by=_actor(p.dr_martin),
            file=CheckedFile(content=pdf_with(secret_title), content_type="application/pdf", filename="cr.pdf"),
            title=secret_title,
            category=DocumentCategory.BIOLOGIE,
            care_date=datetime.date(2026, 1, 20),
            **flags,
        )
    for target, document in (("victim", doc), ("child", leo_doc), ("child_hidden", leo_hidden_doc)):
        world.kwargs[("document", target)] = {"public_id": document.public_id}
        link, token = dossier_services.share_create(document=document, by=_actor(document.patient), hours=24)
        world.kwargs[("share", target)] = {"public_id": link.public_id}
        if target == "victim":
            world.kwargs[("share_token", "victim")] = {"token": token}
    stale, stale_token = dossier_services.share_create(document=doc, by=_actor(camille), hours=24)
    dossier_services.share_revoke(link=stale, by=_actor(camille))
    world.kwargs[("share_token", "stale")] = {"token": stale_token}

    # Care team: Dr Martin is médecin traitant (seed); the kiné is in the team but blocked.
    CareTeamMember.objects.create(
        patient=camille,
        professional=p.kine_bernard,
        role="added_by_patient",
        blocked_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    emergency = dossier_services.emergency_start(
        patient=camille, by=_actor(p.pharmacien_leroy), kind="break_glass", reason="Malaise au comptoir"
    )
    world.emergency_id = str(emergency.public_id)
    for target, patient in (("victim", camille), ("child", leo)):
        world.kwargs[("patient", target)] = {"public_id": patient.public_id}
        world.kwargs[("prevention", target)] = {"patient_id": patient.public_id, "code": PREVENTION_CODE}

    # --- profil: entries, measures, designations --------------------------------------------------------------
    for target, patient, add in (("victim", camille, m), ("child", leo, lm)):
        name = marker("Maladie")
        add(name)
        entry = profil_services.entry_save(
            patient=patient, definition=SECTIONS["maladies"], values={"name": name}, by=_actor(patient)
        )
        world.kwargs[("entry", target)] = {"section": "maladies", "public_id": entry.public_id}
        measure = Measure.objects.create(
            patient=patient, kind="poids", value=Decimal("61.30"), measured_on=datetime.date(2026, 1, 10)
        )
        world.kwargs[("measure", target)] = {"public_id": measure.public_id}
        designation = ProfileProfessional.objects.create(
            patient=patient, professional=p.pharmacien_leroy, role="pharmacien_correspondant"
        )
        world.kwargs[("designation", target)] = {"public_id": designation.public_id}
    world.kwargs[("section", "victim")] = {"section": "maladies"}

    # --- messagerie: conversations and attachments ------------------------------------------------------------
    def conversation(patient, label, add, **extra):
        subject, body, file_name = marker(f"{label}Objet"), marker(f"{label}Message"), marker(f"{label}PJ")
        for text in (subject, body, file_name):
            add(text)
        started = start(
            p.dr_martin,
            patient,
            subject=subject,
            body=body,
            files=[pdf_file(f"{file_name}.pdf", pdf_with(file_name))],
            **extra,
        )
        attachment = Attachment.objects.get(message__conversation=started)
        return started, attachment

    for target, patient, label, add, extra in (
        ("victim", camille, "Camille", m, {}),
        ("child", leo, "Leo", lm, {}),
        ("child_hidden", leo, "LeoConfidentiel", lhm, {"hidden_from_representatives": True}),
    ):
        started, attachment = conversation(patient, label, add, **extra)
        if extra:  # the doctor answers in the confidential conversation without ticking "confidentiel"
            lhm(answer := marker("LeoConfidentielReponse"))
            reply(started, _actor(p.dr_martin), body=answer)
        world.kwargs[("conversation", target)] = {"public_id": started.public_id}
        world.kwargs[("attachment", target)] = {"public_id": attachment.public_id}

    # --- agenda: entries, the private feed ----------------------------------------------------------------------
    for target, patient, add in (("victim", camille, m), ("child", leo, lm)):
        name = marker("Rdv")
        add(name)
        entry = agenda_services.entry_create(
            patient=patient,
            kind="appointment",
            by=_actor(patient),
            professional_name=name,
            starts_at=timezone.now() + datetime.timedelta(days=3),
            ends_at=timezone.now() + datetime.timedelta(days=3, hours=1),
        )
        world.kwargs[("agenda_entry", target)] = {"public_id": entry.public_id}
    old_feed = agenda_services.feed_renew(by=_actor(camille))
    world.kwargs[("feed_token", "victim")] = {"token": agenda_services.feed_renew(by=_actor(camille))}
    world.kwargs[("feed_token", "stale")] = {"token": old_feed}

    # --- catalogue: a service, connections, what services sent, tokens ----------------------------------------
    service = make_service("Tensio Matrice")
    Purpose.objects.create(service=service, label="Ajouter des documents", scopes="documents:write", position=4)
    world.kwargs[("service", "victim")] = {"public_id": service.public_id}
    connections = {}
    for person in (camille, julien, leo):
        connection = Connection.objects.create(
            service=service, patient=person, connected_by=person.user or julien.user
        )
        connection.purposes.set(service.purposes.all())
        connections[person.pk] = connection
    world.kwargs[("connection", "victim")] = {"public_id": connections[camille.pk].public_id}
    world.kwargs[("connection", "child")] = {"public_id": connections[leo.pk].public_id}
    connection = connections[camille.pk]
    measure = Measure.objects.create(
        patient=camille,
        source=service,
        source_identifier="matrice-1",
        kind="poids",
        value=Decimal("63.10"),
        measured_at=timezone.now() - datetime.timedelta(days=1),
        measured_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    world.kwargs[("service_measure", "victim")] = {"public_id": measure.public_id}
    description = marker("RdvService")
    m(description)
    appointment = AgendaEntry.objects.create(
        patient=camille,
        kind="appointment",
        source="service",
        source_service=service,
        professional_name=service.name,
        note=description,
        starts_at=timezone.now() + datetime.timedelta(days=5),
        ends_at=timezone.now() + datetime.timedelta(days=5, hours=1),
    )
    world.kwargs[("service_appointment", "victim")] = {"public_id": appointment.public_id}
    every_scope = "measures:read measures:write agenda:read agenda:write documents:read documents:write"
    _token(world, "token_victim", connection, every_scope)
    _token(world, "token_other", connections[julien.pk], every_scope)
    _token(world, "token_wrong_scope", connection, "")
    _software_token(world, "token_establishment")
    world.authorize_query = (
        f"response_type=code&client_id={service.oauth_client_id}&redirect_uri=https%3A%2F%2Ftensio.example"
        "%2Foauth%2Fcallback&scope=measures%3Aread&state=etat-42&code_challenge_method=S256"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&aud=http%3A%2F%2Ftestserver%2Fapi%2Fv1"
    )

    # --- activation: receipts of the victim's space, a child attached to Julien's card -------------------------
    space = HealthSpace.objects.get(patient=camille)
    opposition = Opposition.objects.create(reference=f"OPP-{uuid.uuid4().hex[:8]}", space=space, channel="account")
    closure = Closure.objects.create(reference=f"CLO-{uuid.uuid4().hex[:8]}", space=space)
    world.kwargs[("opposition", "victim")] = {"public_id": opposition.public_id}
    world.kwargs[("closure", "victim")] = {"public_id": closure.public_id}
    world.kwargs[("child", "victim")] = {"public_id": p.emma.public_id}
    world.kwargs[("password_token", "victim")] = {"uidb64": "MQ", "token": "jeton-invalide"}
    world.kwargs[("contact_change_token", "victim")] = {"public_id": uuid.uuid4(), "token": "jeton-invalide"}
    open_sessions(world)
    return world


# --- The attackers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    persona: str | None  # None: no session
    target: str = "victim"  # which object of the kind the URL names
    acting_for: str | None = None  # a represented persona selected in the header
    searched: bool = False  # a professional who found the victim (and Léo) by NIR and birth date
    emergency: bool = False  # ... and started a break-glass access to the victim's record
    bearer: bool = False  # a connected service's access token (scenario name), no session


SCENARIOS: dict[str, Scenario] = {
    "anonymous": Scenario(None),
    "victim": Scenario("camille"),
    "other_patient": Scenario("sophie"),
    "other_representative": Scenario("julien", acting_for="leo"),
    "representative": Scenario("julien", target="child", acting_for="leo"),
    "representative_hidden": Scenario("julien", target="child_hidden", acting_for="leo"),
    "pro_care_team": Scenario("dr_martin", searched=True),
    "pro_outside": Scenario("pharmacien_leroy", searched=True),
    "pro_blocked": Scenario("kine_bernard", searched=True),
    "pro_emergency": Scenario("pharmacien_leroy", searched=True, emergency=True),
    "agent_cpam": Scenario("agent_cpam"),
    "agent_france_services": Scenario("agent_france_services"),
    "agent_superviseur": Scenario("agent_superviseur"),
    "token_victim": Scenario(None, bearer=True),
    "token_other": Scenario(None, bearer=True),
    "token_wrong_scope": Scenario(None, bearer=True),
    "token_establishment": Scenario(None, bearer=True),  # an establishment's software client (issue 17)
}


def _session(world: World, name: str, persona: str | None) -> str:
    """A session as the two-step login leaves it (see session_as in tests/conftest.py), saved in the
    database: it outlives the cache each test empties, and each test's changes to it are rolled back."""
    scenario = SCENARIOS[name]
    user = User.objects.get(username=PERSONA_USERS[persona])
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device, _ = EmailOTPDevice.objects.get_or_create(user=user, defaults={"name": "e-mail", "confirmed": True})
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session[SESSION_LOGIN_AT] = time.time()
    if scenario.acting_for:
        session[SESSION_ACTING_FOR] = getattr(world.personas, scenario.acting_for).pk
    if scenario.searched:
        found = [str(world.personas.camille.public_id), str(world.personas.leo.public_id)]
        session[SESSION_SEARCHED] = session[SESSION_MESSAGING_SEARCHED] = found
    if scenario.emergency:
        session[SESSION_EMERGENCIES] = [world.emergency_id]
    session.save()
    assert session[SESSION_KEY] == str(user.pk)
    return session.session_key


def open_sessions(world: World) -> None:
    for name, scenario in SCENARIOS.items():
        if scenario.persona is not None:
            world.sessions[(name, scenario.persona)] = _session(world, name, scenario.persona)
    world.sessions[("victim", "julien")] = _session(world, "victim", "julien")


def client_for(world: World, name: str, *, owner: str = "camille") -> Client:
    """A client in the state of scenario `name`; the "victim" scenario is `owner`."""
    scenario = SCENARIOS[name]
    if scenario.bearer:
        return Client(HTTP_AUTHORIZATION=f"Bearer {world.bearer[name]}")
    client = Client()
    persona = owner if name == "victim" else scenario.persona
    if persona is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[(name, persona)]
    return client


# --- What must never change for someone who may not --------------------------------------------------------

# (model, path to the patient): every row a victim owns, compared before and after a refused request.
OWNED = (
    (Document, "patient"),
    (ShareLink, "document__patient"),
    (CareTeamMember, "patient"),
    (EmergencyAccess, "patient"),
    (MedicalRecord, "patient"),
    (ProfileEntry, "patient"),
    (Measure, "patient"),
    (ProfileProfessional, "patient"),
    (HealthProfile, "patient"),
    (Conversation, "patient"),
    (Message, "conversation__patient"),
    (Attachment, "message__conversation__patient"),
    (MessagingBlock, "patient"),
    (AgendaEntry, "patient"),
    (AgendaSettings, "patient"),
    (PreventionItem, "patient"),
    (Connection, "patient"),
    (HealthSpace, "patient"),
    (Opposition, "space__patient"),
    (Closure, "space__patient"),
)


def fingerprint(world: World, watched: tuple[str, ...] = ("camille", "leo", "emma")) -> tuple:
    """Every row the `watched` victims own, their accounts, their connections' purposes and their services'
    tokens: one digest per table, in one query (compiled once per `watched`)."""
    if watched not in world.fingerprint_sql:
        world.fingerprint_sql[watched] = _fingerprint_sql(world, watched)
    sql, params = world.fingerprint_sql[watched]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _fingerprint_sql(world: World, watched: tuple[str, ...]) -> tuple[str, list]:
    from oauth2_provider.models import AccessToken

    from accounts.models import LegalRepresentation, Patient

    victims = [getattr(world.personas, name).pk for name in watched]
    users = [user for name in watched if (user := getattr(world.personas, name).user_id)] or [0]  # 0: nobody
    querysets = [
        model._default_manager.filter(**{f"{path}__in": victims}).order_by("pk").values_list() for model, path in OWNED
    ]
    querysets += [
        Patient.objects.filter(pk__in=victims).order_by("pk").values_list(),
        LegalRepresentation.objects.filter(represented__in=victims).order_by("pk").values_list(),
        User.objects.filter(pk__in=users).order_by("pk").values_list("password", "email", "is_active"),
        AccessToken.objects.filter(user__in=users).order_by("pk").values_list("pk", "expires", "scope"),
        Connection.purposes.through.objects.filter(connection__patient__in=victims).order_by("pk").values_list(),
    ]
    parts, params = [], []
    for queryset in querysets:
        sql, query_params = queryset.query.sql_with_params()
        # The ORM compiled `sql` with placeholders; its parameters travel separately.
        parts.append(f"(SELECT md5(coalesce(string_agg(row_::text, '|'), '')) FROM ({sql}) row_)")  # noqa: S608
        params.extend(query_params)
    return "SELECT " + ", ".join(parts), params
