"""Roles × URLs × methods, generated from the URL resolver, against a victim's objects.

Every named URL (but the admin, which has its own test) has a row in ROUTES: the kind of object its kwargs
name, the methods its view accepts, and which side of the portal it belongs to. For each row the test
sends every accepted method as every attacker of tests/access/scenarios.py, with kwargs that point at an
object of the victim (Camille; Léo for his legal representative), and the methods the view does not accept
as the people it would otherwise serve. A URL without a row fails the suite.

What each refusal must look like:
- another patient (or a representative acting for someone else) asking for the victim's object: 404,
  never 403 (the object's existence stays secret);
- no refused answer ever contains a secret marker of the victim's objects, and no refused request (of any
  method) changes a row the victim owns;
- a method the view does not accept: 405 for the people it serves, a refusal for the others; never 2xx.

Allowed POSTs need not succeed (a form error is fine); they only prove the door is open to the right people.
"""

import uuid
from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import get_resolver, reverse

from tests.access.scenarios import SCENARIOS, World, build_world, client_for, fingerprint

GET, POST = frozenset({"GET"}), frozenset({"POST"})
GET_POST = frozenset({"GET", "POST"})
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Django's class-based views answer HEAD like GET, and its FormView answers PUT like POST.
CBV_FORM = frozenset({"GET", "HEAD", "POST", "PUT"})
EVERY = frozenset(METHODS)
LOGIN_PAGES = ("/connexion/", "/pro/connexion/", "/admin/login/")

# Expectations: OK (2xx/3xx, not sent to a login page; an API may answer 400 to a junk POST), OWN (a page of
# the attacker's own, or a public one: anything but 405 and 5xx; the victim's secrets stay out), or a set
# of refusal statuses. None: the scenario does not apply to this URL.
OK, OWN = "ok", "own"


def deny(*codes: int) -> frozenset:
    return frozenset(codes)


@dataclass(frozen=True)
class Route:
    side: str  # patient, file, pro, public, receipt, token, api
    kind: str = ""  # the object its kwargs name (scenarios.World.kwargs); "" for none
    methods: frozenset = GET
    owner: str = "camille"  # the persona of the "victim" scenario
    expect: dict = field(default_factory=dict)  # scenario -> expectation, overriding the side's rule
    query: str = ""  # "authorize": the OAuth query string of the world's service
    data: dict = field(default_factory=dict)  # POST fields added to the common payload


# Objects that belong to nobody in particular: the attacker's own page, not the victim's object.
UNOWNED = {"", "section", "service", "password_token", "contact_change_token"}
# Consent declared in consultation and break-glass are how a professional outside the care team gets in.
DOOR = {"pro_outside": OK}
# Any professional may write to a patient found by NIR and birth date (unless the patient blocked them).
ANY_PRO = {"pro_outside": OK, "pro_blocked": OK, "pro_emergency": OK}
NOT_HIS = {"pro_emergency": deny(404)}  # the pharmacist's emergency does not make Dr Martin's conversation his

ROUTES: dict[str, Route] = {
    "home": Route("public"),
    "health": Route("public", methods=frozenset({"GET", "HEAD"})),
    # --- accounts
    "accounts:login": Route("public", methods=GET_POST),
    "accounts:login_otp": Route("public", methods=GET_POST),
    "accounts:pro_login": Route("public", methods=GET_POST),
    "accounts:pro_login_otp": Route("public", methods=GET_POST),
    "accounts:logout": Route("public", methods=POST),
    "accounts:password_reset": Route("public", methods=CBV_FORM),
    "accounts:password_reset_done": Route("public", methods=frozenset({"GET", "HEAD"})),
    # Django's view answers an unknown link with the "invalid link" page before looking at the method.
    "accounts:password_reset_confirm": Route("public", kind="password_token", methods=EVERY),
    "accounts:password_reset_complete": Route("public", methods=frozenset({"GET", "HEAD"})),
    "accounts:contact_change_link": Route("public", kind="contact_change_token", methods=GET_POST),
    "accounts:dashboard": Route("patient"),
    "accounts:settings": Route("patient"),
    "accounts:reauthenticate": Route("patient", methods=GET_POST),
    "accounts:contact_change": Route("patient", methods=GET_POST),
    "accounts:email_confirm": Route("patient", methods=GET_POST),
    "accounts:password_change": Route("patient", methods=CBV_FORM),
    "accounts:password_change_done": Route("patient", methods=EVERY),  # a RedirectView: every method
    "accounts:totp_setup": Route("patient", methods=GET_POST),
    # The payload asks to switch to Camille's profile: refused to everyone but Camille.
    "accounts:switch_profile": Route("patient", methods=POST, expect={"representative": deny(404)}),
    "accounts:pro_home": Route("pro"),
    # --- activation
    "activation:start": Route("public", methods=GET_POST),
    "activation:choice": Route("public"),
    "activation:activate": Route("public", methods=GET_POST),
    "activation:activate_verify": Route("public", methods=GET_POST),
    "activation:oppose": Route("public", methods=GET_POST),
    "activation:opposition_done": Route("receipt", kind="opposition", expect={"victim": deny(404)}),
    "activation:opposition_receipt": Route("receipt", kind="opposition"),
    "activation:new_code": Route("public", methods=GET_POST),
    "activation:close": Route("patient", methods=GET_POST),
    "activation:closed": Route("patient", methods=GET_POST, expect={"victim": OWN, "representative": OWN}),
    "activation:closure_receipt": Route(
        "receipt", kind="closure", expect={"anonymous": deny(302), "token_victim": deny(302)}
    ),
    "activation:children": Route("patient"),
    # Julien decides for the children on his card, whichever profile he has selected.
    "activation:child_activate": Route(
        "patient", kind="child", methods=POST, owner="julien", expect={"other_representative": OK}
    ),
    "activation:child_oppose": Route(
        "patient", kind="child", methods=POST, owner="julien", expect={"other_representative": OK}
    ),
    # --- dossier (patient side)
    "dossier:index": Route("patient"),
    "dossier:upload": Route("patient", methods=GET_POST),
    "dossier:document_detail": Route("patient", kind="document"),
    "dossier:document_preview": Route("file", kind="document"),
    "dossier:document_download": Route("file", kind="document"),
    "dossier:document_rename": Route("patient", kind="document", methods=GET_POST),
    "dossier:document_delete": Route("patient", kind="document", methods=GET_POST),
    "dossier:document_hide": Route("patient", kind="document", methods=POST),
    "dossier:document_share": Route("patient", kind="document", methods=POST),
    "dossier:share_revoke": Route("patient", kind="share", methods=POST),
    "dossier:settings": Route("patient", methods=GET_POST),
    "dossier:care_team": Route("patient", methods=GET_POST),
    "dossier:care_team_block": Route("patient", methods=POST),
    # The payload names Camille's kiné: not a member of Léo's care team.
    "dossier:care_team_administrator": Route(
        "patient", methods=POST, data={"professional": "kine_bernard"}, expect={"representative": deny(404)}
    ),
    "dossier:access_history": Route("patient"),
    "dossier:history_of_care": Route("patient"),
    # --- dossier (professional side) and share links
    "pro_search": Route("pro", methods=GET_POST),
    "pro_record": Route("pro", kind="patient"),
    "pro_access_request": Route(
        "pro", kind="patient", expect={"pro_outside": OWN, "pro_blocked": deny(200, 302, 404)}
    ),
    "pro_consent": Route("pro", kind="patient", methods=POST, expect=DOOR),
    "pro_emergency": Route("pro", kind="patient", methods=POST, expect=DOOR),
    "pro_add_document": Route("pro", kind="patient", methods=GET_POST),
    "pro_document": Route("pro", kind="document"),
    "pro_profil": Route("pro", kind="patient"),
    "share_open": Route("token", kind="share_token"),  # a revoked link: 410, an unknown one 404
    "share_file": Route("token", kind="share_token"),
    # --- profil
    "profil:index": Route("patient"),
    "profil:measures": Route("patient", methods=GET_POST),
    "profil:measure_delete": Route("patient", kind="measure", methods=POST),
    "profil:professionals": Route("patient", methods=GET_POST),
    "profil:professional_remove": Route("patient", kind="designation", methods=POST),
    "profil:organ_donation": Route("patient", methods=GET_POST),
    # Advance directives are written by the adult patient themself, never by a representative.
    "profil:directives": Route("patient", methods=GET_POST, expect={"representative": {"POST": deny(403)}}),
    "profil:synthesis": Route("patient", methods=GET_POST),
    "profil:section": Route("patient", kind="section"),
    "profil:entry_add": Route("patient", kind="section", methods=GET_POST),
    "profil:not_concerned": Route("patient", kind="section", methods=POST),
    "profil:entry_edit": Route("patient", kind="entry", methods=GET_POST),
    "profil:entry_delete": Route("patient", kind="entry", methods=GET_POST),
    # --- messagerie
    "messagerie:index": Route("patient"),
    "messagerie:new": Route("patient", methods=GET_POST),
    "messagerie:blocks": Route("patient", methods=GET_POST),
    "messagerie:conversation": Route("patient", kind="conversation", methods=GET_POST),
    "messagerie:archive": Route("patient", kind="conversation", methods=POST),
    "messagerie:delete": Route("patient", kind="conversation", methods=GET_POST),
    "messagerie:attachment": Route("file", kind="attachment", expect=NOT_HIS),
    "messagerie:attachment_save": Route("patient", kind="attachment", methods=POST),
    "messagerie_pro:index": Route("pro"),
    "messagerie_pro:search": Route("pro", methods=GET_POST),
    "messagerie_pro:compose": Route("pro", kind="patient", methods=GET_POST, expect=ANY_PRO),
    "messagerie_pro:conversation": Route("pro", kind="conversation", methods=GET_POST, expect=NOT_HIS),
    "messagerie_pro:end": Route("pro", kind="conversation", methods=GET_POST, expect=NOT_HIS),
    # --- agenda
    "agenda:index": Route("patient"),
    "agenda:month": Route("patient"),
    "agenda:week": Route("patient"),
    "agenda:appointment_create": Route("patient", methods=GET_POST),
    "agenda:reminder_create": Route("patient", methods=GET_POST),
    "agenda:entry_detail": Route("patient", kind="agenda_entry"),
    "agenda:entry_edit": Route("patient", kind="agenda_entry", methods=GET_POST),
    "agenda:entry_cancel": Route("patient", kind="agenda_entry", methods=POST),
    "agenda:entry_delete": Route("patient", kind="agenda_entry", methods=GET_POST),
    "agenda:entry_ics": Route("patient", kind="agenda_entry"),
    "agenda:export_ics": Route("patient"),
    "agenda:settings": Route("patient", methods=GET_POST),
    "agenda:feed_renew": Route("patient", methods=POST),
    "agenda:feed_revoke": Route("patient", methods=POST),
    "agenda:feed": Route("token", kind="feed_token"),
    "agenda:prevention": Route("patient"),
    "agenda:prevention_item": Route("patient", kind="prevention", methods=GET_POST),
    # --- catalogue, OAuth and the API for connected services
    "catalogue:index": Route("patient"),
    "catalogue:detail": Route("patient", kind="service"),
    "catalogue:connect": Route("patient", kind="service", methods=POST),
    "catalogue:report": Route("patient", kind="service", methods=GET_POST),
    "catalogue:connections": Route("patient"),
    "catalogue:disconnect": Route("patient", kind="connection", methods=POST),
    "oauth2_provider:authorize": Route("patient", methods=GET_POST, query="authorize"),
    "oauth2_provider:token": Route("public", methods=POST),
    "oauth2_provider:revoke-token": Route("public", methods=POST),
    "oauth2_provider:introspect": Route("public", methods=POST),
    "oauth2_provider:jwks-info": Route("public", methods=frozenset({"GET", "HEAD"})),
    "smart_configuration": Route("public", methods=frozenset({"GET", "HEAD"})),
    "smart_configuration_fhir": Route("public", methods=frozenset({"GET", "HEAD"})),
    "oauth_metadata": Route("public", methods=frozenset({"GET", "HEAD"})),
    "openid_configuration": Route("public", methods=frozenset({"GET", "HEAD"})),
    # --- the FHIR server (/api/v1/): a row per registered resource type and interaction
    "api:metadata": Route("public"),  # the CapabilityStatement: public, like every FHIR server's
    "api:not_found": Route("public", methods=EVERY),  # an OperationOutcome 404 for every other path
    # Every connected service may read the connected profile's Patient (no data scope needed).
    "api:Patient-type": Route("api", expect={"token_wrong_scope": OK}),
    "api:Patient-search": Route("api", methods=POST, expect={"token_wrong_scope": OK}),
    "api:Patient-instance": Route("api", kind="patient", expect={"token_wrong_scope": OK}),
    "api:Observation-type": Route("api", methods=GET_POST),
    "api:Observation-search": Route("api", methods=POST),
    "api:Observation-instance": Route("api", kind="service_measure"),
    "api:Appointment-type": Route("api", methods=GET_POST),
    "api:Appointment-search": Route("api", methods=POST),
    "api:Appointment-instance": Route("api", kind="service_appointment"),
    "api:DocumentReference-type": Route("api", methods=GET_POST),
    "api:DocumentReference-search": Route("api", methods=POST),
    "api:DocumentReference-instance": Route("api", kind="document"),
    "api:Binary-instance": Route("api", kind="document"),
}
# Rows for URLs another change is adding: allowed to name no URL yet.
PENDING = {"accounts:reauthenticate", "accounts:contact_change", "accounts:email_confirm"}

PATIENT_SCENARIOS = {"victim", "other_patient", "other_representative", "representative", "representative_hidden"}
PRO_SCENARIOS = {"pro_care_team", "pro_outside", "pro_blocked", "pro_emergency"}
AGENT_SCENARIOS = {"agent_cpam", "agent_france_services", "agent_superviseur"}
TOKEN_SCENARIOS = {"token_victim", "token_other", "token_wrong_scope", "token_establishment"}


def expectation(route: Route, name: str):  # noqa: PLR0911, PLR0912 - one rule per side, read top to bottom
    """What scenario `name` must get on `route` (see OK, OWN, deny), or None when it does not apply."""
    if name in route.expect:
        return route.expect[name]
    owned = route.kind not in UNOWNED
    side = route.side
    if side == "public":
        return OWN
    if side == "api":
        if name == "token_victim":
            return OK
        if name == "token_other":
            return deny(404) if owned else OWN
        # A software client's token: recognised, and refused on every patient-bound type whatever its scopes.
        return deny(403) if name in ("token_wrong_scope", "token_establishment") else deny(401)
    if side == "token":  # the victim holds the live secret; everyone else a revoked or renewed one
        return OK if name == "victim" else deny(404, 410)
    if side == "receipt":  # open to anonymous visitors for the oppositions made in their browser session
        return OK if name == "victim" else deny(404)
    if name == "anonymous" or name in TOKEN_SCENARIOS:  # a bearer token is no session on the portal
        return deny(302)
    if side == "pro":
        if name in PRO_SCENARIOS:
            if name in ("pro_care_team", "pro_emergency"):
                return OK
            return deny(302, 404) if owned else OWN
        if name in ("representative", "representative_hidden"):
            return None  # Julien is already "other_representative"
        return deny(403)
    # patient and file sides
    if name in AGENT_SCENARIOS:
        return deny(404) if side == "file" else deny(403)
    if name in PRO_SCENARIOS:
        if side == "file":
            return OK if name in ("pro_care_team", "pro_emergency") else deny(404)
        return deny(403)
    if name == "victim":
        return OK
    if name in ("other_patient", "other_representative"):
        return deny(404) if owned else OWN
    if name == "representative_hidden":
        return deny(404) if owned else None
    return OK  # representative


def _forbidden_markers(world: World, name: str, persona: str | None) -> list[str]:
    """The secrets scenario `name` may never read, on any page."""
    everything = (
        world.camille_markers
        + world.hidden_from_pros
        + world.held_markers
        + world.leo_markers
        + world.leo_hidden_markers
    )
    if name == "pro_care_team":
        return []  # Dr Martin is médecin traitant of Camille and Léo; he wrote the conversations
    if name == "pro_emergency":
        return world.hidden_from_pros + world.leo_markers + world.leo_hidden_markers
    if name == "token_victim" or persona == "camille":
        return world.held_markers + world.leo_markers + world.leo_hidden_markers  # held: until its release
    if persona == "julien" and name != "token_other":
        return world.camille_markers + world.hidden_from_pros + world.held_markers + world.leo_hidden_markers
    return everything


def _payload(world: World) -> dict:
    """One POST body for every form: values that would change something if the door were open."""
    p = world.personas
    return {
        "title": "Titre pirate",
        "hidden": "1",
        "hours": "24",
        "consent": "on",
        "kind": "break_glass",
        "reason": "Malaise au comptoir",
        "subject": "Objet pirate",
        "body": "Message pirate",
        "client_token": str(uuid.uuid4()),
        "archived": "1",
        "blocked": "1",
        "professional": str(p.dr_martin.public_id),
        "state": "not_concerned",
        "name": "Maladie pirate",
        "not_concerned": "on",
        "value": "70",
        "measured_on": "2026-01-02",
        "professional_name": "Dr Pirate",
        "date": "2026-09-01",
        "start_time": "10:00",
        "rpps": p.pharmacien_leroy.rpps,
        "role": "pharmacien_correspondant",
        "acknowledged": "on",
        "allow": "1",
        "message": "Signalement pirate",
        "profile": str(p.camille.public_id),
    }


def _send(client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url)
    if method == "HEAD":
        return client.head(url)
    if method == "POST":
        return client.post(url, data)
    return client.generic(method, url, b"", content_type="application/octet-stream")


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The victim's objects, built once for the module in a transaction rolled back at its end (each test
    runs in a savepoint inside it, as in a Django TestCase)."""
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("every-method-media"))
    media.enable()
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            media.disable()
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
    media.disable()


@pytest.fixture(autouse=True)
def _media_root():
    """Overrides the per-test media root of tests/conftest.py: the world's files live in the module's."""


def _url_names() -> set[str]:
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                ns = pattern.namespace or ""
                if ns == "admin":
                    continue  # the agents' back-office has its own tests
                walk(pattern.url_patterns, f"{namespace}{ns}:" if ns else namespace)
            elif pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    return names


URL_NAMES = _url_names()


def test_every_url_has_a_row():
    assert URL_NAMES - set(ROUTES) == set(), "give each new URL a row in ROUTES (kind, methods, side)"


def test_every_row_names_a_url():
    assert set(ROUTES) - URL_NAMES - PENDING == set()


def _url(world: World, name: str, route: Route, target: str) -> str | None:
    kwargs = {}
    if route.kind:
        kwargs = world.kwargs.get((route.kind, target))
        if kwargs is None and route.kind in ("share_token", "feed_token"):
            kwargs = world.kwargs[(route.kind, "stale")]
        if kwargs is None:
            return None
    if route.side == "api" and "public_id" in kwargs:  # FHIR ids are the objects' public ids
        kwargs = {"resource_id": str(kwargs["public_id"])}
    url = reverse(name, kwargs=kwargs)
    if route.query == "authorize":
        url += "?" + world.authorize_query
    return url


def _check(world, name, scenario, method, expected, response, persona) -> None:
    status = response.status_code
    where = f"{method} {name} as {scenario}: {status}"
    assert status < 500, where
    body = _body(response)
    for secret in _forbidden_markers(world, scenario, persona):
        assert secret.encode() not in body, f"{where} shows {secret}"
    if expected == OK:
        # A junk POST (a form, not a FHIR resource) may be refused as such: 400, or 415 from the FHIR server.
        junk = method == "POST" and status in (400, 415) and name.startswith(("api:", "oauth2_provider:"))
        ok = 200 <= status < 400 or junk
        assert ok, where
        if status in (301, 302):
            assert not response["Location"].startswith(LOGIN_PAGES), where
        return
    if expected == OWN:
        assert status != 405, where
    else:
        assert status in expected, where
        if status == 302 and scenario in ("anonymous", *TOKEN_SCENARIOS):
            assert response["Location"].startswith(LOGIN_PAGES), where


ROUTE_CASES = sorted(name for name in ROUTES if name in URL_NAMES)


def _undeclared(route: Route, scenario: str, served: bool) -> list[str]:
    """Methods the view does not accept, sent as the people it serves (every one: 405 expected) and as an
    anonymous stranger (one is enough: the login wall)."""
    undeclared = [method for method in METHODS if method not in route.methods]
    if served and scenario in ("victim", "pro_care_team", "token_victim"):
        return undeclared
    return undeclared[-1:] if scenario == "anonymous" else []


def _watched(scenario: str, owner: str) -> tuple[str, ...]:
    """Whose rows must not change: everyone's but the profiles the scenario may act for."""
    if scenario == "victim":
        return ("leo", "emma") if owner == "camille" else ("camille",)
    if scenario in ("representative", "other_representative"):
        return ("camille",)  # Julien acts for Léo (and decides for Emma)
    return ("camille", "leo", "emma")


def _refused_method(world: World, name: str, scenario: str, method: str, response, served: bool) -> None:
    status = response.status_code
    where = f"{method} {name} (not accepted) as {scenario}: {status}"
    assert not 200 <= status < 300, where
    if served:  # 405, unless a gate before the method check sends the person to confirm who they are
        location = response.get("Location", "")
        assert status == 405 or location.startswith(reverse("accounts:reauthenticate")), where
    else:
        assert status in (302, 401, 403, 404, 405), where


@pytest.mark.django_db
@pytest.mark.parametrize("name", ROUTE_CASES)
def test_every_scenario_and_method(world, name):
    route = ROUTES[name]
    payload = _payload(world)
    for field_name, persona in route.data.items():
        payload[field_name] = str(getattr(world.personas, persona).public_id)
    checked = 0
    for scenario, spec in SCENARIOS.items():
        expected = expectation(route, scenario)
        if expected is None:
            continue
        if scenario in ("token_other", "token_wrong_scope", "token_establishment") and route.side != "api":
            continue  # off the API a bearer token is no credential at all: token_victim shows it
        target = "stale" if route.side == "token" and scenario != "victim" else spec.target
        url = _url(world, name, route, target)
        if url is None:
            continue  # the kind has no such object (e.g. nothing kept from representatives)
        client = client_for(world, scenario, owner=route.owner)
        persona = route.owner if scenario == "victim" else spec.persona
        by_method = {
            method: expected.get(method, OK) if isinstance(expected, dict) else expected
            for method in sorted(route.methods)
        }
        served = OK in by_method.values() or (scenario == "victim" and route.side == "public")
        undeclared = _undeclared(route, scenario, served)
        refused = [method for method, wanted in by_method.items() if wanted != OK]
        allowed = [method for method, wanted in by_method.items() if wanted == OK]
        watched = _watched(scenario, route.owner)
        writes = set(undeclared + refused) - {"GET", "HEAD"}
        before = fingerprint(world, watched) if writes else None
        for method in undeclared:
            _refused_method(world, name, scenario, method, _send(client, method, url, payload), served)
            checked += 1
        # Refusals first, then the check, then what is allowed (which may change the victim's rows).
        for method in refused + allowed:
            if method == (allowed[:1] or [None])[0] and before is not None:
                assert fingerprint(world, watched) == before, f"{sorted(writes)} {name} as {scenario} changed rows"
                before = None
            response = _send(client, method, url, {**payload, "client_token": str(uuid.uuid4())})
            _check(world, name, scenario, method, by_method[method], response, persona)
            checked += 1
        if before is not None:
            assert fingerprint(world, watched) == before, f"{sorted(writes)} {name} as {scenario} changed rows"
    assert checked
