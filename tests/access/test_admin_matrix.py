"""Agent groups × the agents' admin: every registered model, declared filter, search, lookup and action.

The rule (espace_sante/admin_site.py): a changelist filters only through its declared `list_filter`, with
the values those filters offer; any other query parameter is refused with a 400, never applied. People
are found by an exact search only (NIR, e-mail, or birth name + birth date), never listed; a CPAM agent
finds only the insured of the caisse's département(s); every lookup shows in the person's history.

`test_every_field_is_refused_as_a_lookup` walks every field and relation of every registered model as
`?field=`, `?field__isnull=` and `?field__startswith=`: the next field added cannot be filtered on.
A new admin, filter or action without a row below fails `test_the_tables_cover_the_registry`.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import reverse

from accounts import services as account_services
from accounts.enums import Organisation, UserKind
from accounts.establishments import establishment_create, software_client_save
from accounts.models import Agent, Patient, SoftwareClient
from activation.models import CampaignChunk, CampaignRun, HealthSpace
from catalogue.enums import ReportReason, ServiceStatus
from catalogue.models import Service, ServiceReport
from espace_sante.access.actor import Actor
from espace_sante.admin_site import DeclaredLookupsAdmin, DeclaredLookupsChangeList
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import make_service

pytestmark = pytest.mark.django_db

CPAM, FS, SUP, REF = "Conseiller CPAM", "Conseiller France services", "Superviseur", "Référencement"
EST = "Établissements"
GROUPS = (CPAM, FS, SUP, REF, EST)
COUNSELLORS = {CPAM, FS, SUP}  # view_patient

# Who may open each registered changelist (everyone else: 403).
VIEW: dict[str, set[str]] = {
    "accounts.Patient": COUNSELLORS,
    "accounts.Establishment": {EST},
    "accounts.SoftwareClient": {EST},
    "activation.HealthSpace": COUNSELLORS,
    "activation.CampaignChunk": {SUP},
    "catalogue.Service": {REF},
    "catalogue.ServiceReport": {REF},
    "auth.Group": set(),
    "oauth2_provider.Application": set(),
    "dsfr.DsfrConfig": set(),
}
# The declared filters' parameters, as the changelists offer them.
FILTERS: dict[str, set[str]] = {
    "accounts.Patient": set(),
    "accounts.Establishment": {"kind__exact", "kind__isnull", "active__exact", "active__isnull"},
    "accounts.SoftwareClient": {"active__exact", "active__isnull"},
    "activation.HealthSpace": {"status__exact", "status__isnull", "departement", "suppression"},
    "activation.CampaignChunk": {"status__exact", "status__isnull", "run__id__exact", "run__isnull"},
    "catalogue.Service": {"status__exact", "status__isnull", "category__exact", "category__isnull"},
    "catalogue.ServiceReport": {
        "reason__exact",
        "reason__isnull",
        "handled_at__gte",
        "handled_at__lt",
        "handled_at__isnull",
    },
    "auth.Group": set(),
    "oauth2_provider.Application": {
        "client_type__exact",
        "client_type__isnull",
        "authorization_grant_type__exact",
        "authorization_grant_type__isnull",
        "skip_authorization__exact",
        "skip_authorization__isnull",
        "registration_source__exact",
        "registration_source__isnull",
    },
    "dsfr.DsfrConfig": set(),
}
# Changelist actions: who may run each one.
ACTIONS: dict[tuple[str, str], set[str]] = {
    ("activation.HealthSpace", "export_csv"): {SUP},
    ("accounts.SoftwareClient", "rotate"): {EST},
    ("catalogue.Service", "suspend"): {REF},
    ("catalogue.Service", "put_online"): {REF},
    ("catalogue.Service", "dereference"): {REF},
    ("catalogue.ServiceReport", "mark_handled"): {REF},
    ("auth.Group", "delete_selected"): set(),
    ("oauth2_provider.Application", "delete_selected"): set(),
    ("dsfr.DsfrConfig", "delete_selected"): set(),
}
# The person's pages (GET), once the agent found them: 200 for these groups, 403 for the others.
PATIENT_PAGES: dict[str, set[str]] = {
    "admin:accounts_patient_change": COUNSELLORS,
    "admin:accounts_patient_history": COUNSELLORS,
    "admin:patient_opposition": {CPAM, FS},
    "admin:patient_new_code": {CPAM, FS},
    "admin:patient_contacts": {CPAM, FS},
    "admin:patient_contacts_confirm": {CPAM, FS},
    "admin:patient_close": {CPAM},
    "admin:patient_reopen": {CPAM},
    "admin:patient_death": {CPAM},
    "admin:patient_child_profile": {CPAM, FS},
    "admin:accounts_patient_delete": set(),
}

# A service's own pages (GET): its OAuth client, and the confirmation page of its rotation.
SERVICE_PAGES: dict[str, set[str]] = {
    "admin:catalogue_service_oauth_client": {REF},
    "admin:catalogue_service_oauth_rotate": {REF},
}
MODEL_PAGES = ("changelist", "add", "history", "delete", "change")

# Once found, a page answers 200, except the read-back confirmation with nothing pending: back to the person.
FOUND_STATUS = {"admin:patient_contacts_confirm": 302}


def _label(model) -> str:
    return model._meta.label


def _changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@dataclass
class Agents:
    clients: dict
    users: dict

    def __getitem__(self, name: str):
        return self.clients[name]


@pytest.fixture
def agents(personas, session_as, client):
    """One logged-in client per group (the demo's three, and a referencing agent), plus a superuser agent
    ("walker") that can open every changelist, to walk the models no group may open."""

    def make_agent(username: str, group: str | None, *, superuser: bool = False):
        user = account_services.user_create(
            username=username,
            kind=UserKind.AGENT,
            email=f"{username}@assurance-maladie.example",
            first_name="Test",
            last_name=username,
            password="Agent-Test-2026!",
            is_staff=True,
        )
        if superuser:
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
        if group:
            user.groups.add(Group.objects.get(name=group))
        account_services.totp_device_add(user=user, key_hex="0a" * 20)
        Agent.objects.create(user=user, organisation=Organisation.FRANCE_SERVICES, organisation_name="Test")
        return user

    users = {
        CPAM: personas.agent_cpam.user,
        FS: personas.agent_france_services.user,
        SUP: personas.agent_superviseur.user,
        REF: make_agent("agent.referencement", REF),
        EST: make_agent("agent.etablissements", EST),
        "walker": make_agent("agent.walker", None, superuser=True),
    }
    clients = {}
    for name, user in users.items():
        clients[name] = type(client)()
        session_as(clients[name], user)
    return Agents(clients=clients, users=users)


@pytest.fixture
def objects(personas):
    """One object of every registered model, for the actions."""
    from dsfr.models import DsfrConfig
    from oauth2_provider.models import get_application_model

    service = make_service()
    report = ServiceReport.objects.create(service=service, reason=ReportReason.values[0], message="signalement")
    for number in (1, 2):  # two campaigns: the campaign filter shows (one choice is no choice)
        run = CampaignRun.objects.create()
        CampaignChunk.objects.create(run=run, number=number, patient_ids=[personas.camille.pk])
    config = DsfrConfig.objects.first() or DsfrConfig.objects.create()
    establishment = establishment_create(finess="310781406", name="CHU de Toulouse", kind="hopital", by=None)
    software = software_client_save(
        software=SoftwareClient(name="DxCare", establishment=establishment, oauth_jwks_uri="https://chu.example/jwks"),
        by=None,
    )
    return {
        "accounts.Patient": personas.camille,
        "accounts.Establishment": establishment,
        "accounts.SoftwareClient": software,
        "activation.HealthSpace": HealthSpace.objects.get(patient=personas.camille),
        "catalogue.Service": service,
        "catalogue.ServiceReport": report,
        "auth.Group": Group.objects.get(name=REF),
        "oauth2_provider.Application": get_application_model().objects.get(client_id=service.oauth_client_id),
        "dsfr.DsfrConfig": config,
    }


def _declared_parameters(model_admin, user) -> dict[str, list[str]]:
    """Each declared filter's parameters, with the query strings its choices link to (as `user` sees them)."""
    request = RequestFactory().get(_changelist(model_admin.model))
    request.user = user
    request.actor = Actor.for_user(user, verified=True)
    changelist = model_admin.get_changelist_instance(request)
    offered: dict[str, list[str]] = {}
    for spec in changelist.filter_specs:
        parameters = list(spec.expected_parameters())
        for parameter in parameters:
            offered.setdefault(parameter, [])
        offered[parameters[0]].extend(choice["query_string"] for choice in spec.choices(changelist))
    return offered


# --- The registry ---------------------------------------------------------------------------------------


def test_every_admin_of_the_site_refuses_undeclared_lookups():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, DeclaredLookupsAdmin), _label(model)
        request = RequestFactory().get("/")
        assert issubclass(model_admin.get_changelist(request), DeclaredLookupsChangeList), _label(model)
        assert not model_admin.lookup_allowed("id", "1", request), _label(model)


NOT_PER_PERSON = {
    "admin:accounts_patient_changelist",
    "admin:accounts_patient_add",
    "admin:patient_opposition_receipt",
}


def test_the_tables_cover_the_registry(agents, objects):
    walker = agents.users["walker"]
    registered = {_label(model): model_admin for model, model_admin in admin.site._registry.items()}
    assert set(VIEW) == set(registered) == set(FILTERS)
    request = RequestFactory().get("/")
    request.user = walker
    request.actor = Actor.for_user(walker, verified=True)
    offered = {(label, name) for label, model_admin in registered.items() for name in model_admin.get_actions(request)}
    assert offered == set(ACTIONS)
    for label, model_admin in registered.items():
        assert set(_declared_parameters(model_admin, walker)) == FILTERS[label], label
    patient_urls = {f"admin:{url.name}" for url in registered["accounts.Patient"].get_urls() if url.name}
    assert patient_urls - NOT_PER_PERSON == set(PATIENT_PAGES)
    service_urls = {
        f"admin:{url.name}"
        for url in registered["catalogue.Service"].get_urls()
        if url.name and url.name not in {f"catalogue_service_{page}" for page in MODEL_PAGES}
    }
    assert service_urls == set(SERVICE_PAGES)


@pytest.mark.parametrize("group", GROUPS)
def test_the_service_pages_answer_only_the_referencing_staff(agents, objects, group):
    service = objects["catalogue.Service"]
    for name, allowed in SERVICE_PAGES.items():
        response = agents[group].get(reverse(name, args=[service.pk]))
        assert response.status_code == (200 if group in allowed else 403), (group, name)
        if group not in allowed:
            assert agents[group].post(reverse(name, args=[service.pk]), {"confirm": "on"}).status_code == 403
    client_id = service.oauth_client_id
    service.refresh_from_db()
    assert service.oauth_client_id == client_id  # nobody's refused POST rotated it


# --- Changelists, filters, lookups ----------------------------------------------------------------------


@pytest.mark.parametrize("group", GROUPS)
def test_changelists_and_declared_filters_answer_each_group(agents, objects, group):
    client = agents[group]
    for model, model_admin in admin.site._registry.items():
        label, url = _label(model), _changelist(model)
        allowed = group in VIEW[label]
        assert client.get(url).status_code == (200 if allowed else 403), (group, label)
        # The filters' links as this group sees them (a CPAM supervisor is offered the caisse's départements).
        viewer = agents.users[group] if allowed else agents.users["walker"]
        for parameter, query_strings in _declared_parameters(model_admin, viewer).items():
            for query in query_strings:
                response = client.get(url + query)
                assert response.status_code == (200 if allowed else 403), (group, label, parameter, query)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=_label)
def test_every_field_is_refused_as_a_lookup(agents, personas, model):
    """Every field and relation of every registered model, as a lookup: 400 (never filtered data) for the
    walker and for each group that may open the list. `?vitale_serial__startswith=8` and
    `?documents__isnull=False` on the patients are two of them."""
    label, url = _label(model), _changelist(model)
    who = ["walker", *sorted(VIEW[label])]
    for name in sorted(field.name for field in model._meta.get_fields()):
        for parameter in (name, f"{name}__isnull", f"{name}__startswith"):
            if parameter in FILTERS[label]:
                continue
            value = "False" if parameter.endswith("__isnull") else "8"
            for agent in who:
                response = agents[agent].get(url, {parameter: value, "q": personas.camille.nir})
                assert response.status_code == 400, (agent, label, parameter)
                assert "Lefèvre" not in response.content.decode()


def test_a_declared_filter_takes_only_the_values_it_offers(agents):
    url = _changelist(HealthSpace)
    supervisor = agents[SUP]
    assert supervisor.get(url, {"departement": "31"}).status_code == 200
    # A prefix of a postal code, or another caisse's département, is not offered: refused.
    assert supervisor.get(url, {"departement": "3100"}).status_code == 400
    assert supervisor.get(url, {"departement": "80"}).status_code == 400
    assert supervisor.get(url, {"suppression": "autre"}).status_code == 400
    assert supervisor.get(url, {"status__exact": "active", "status__in": "active,closed"}).status_code == 400


def test_the_autocomplete_does_not_list_people(agents):
    """Django serves /admin/autocomplete/ for any foreign key to a searchable model: an empty term listed
    everyone. No admin declares an autocomplete field, so it answers nobody."""
    for who in ("walker", CPAM, FS, SUP):
        response = agents[who].get(
            reverse("admin:autocomplete"),
            {"app_label": "accounts", "model_name": "legalrepresentation", "field_name": "represented", "term": ""},
        )
        assert response.status_code == 403, who


# --- Search: found, never browsed; territory; trace -----------------------------------------------------

SEARCHES = {
    "": set(),
    "Lefèvre": set(),  # a name alone would list homonyms with their birth dates
    "Moreau": set(),
    "%": set(),
    "285037505612306": {"camille"},
    "camille.lefevre@example.org": {"camille"},
    "Lefèvre 14/03/1985": {"camille"},
    "Moreau 09/06/2020": {"emma"},
    "278098002104481": {"sophie"},  # Amiens (Somme)
    "Petit 12/09/1950": {"bernard"},  # Amiens
}
TERRITORY = {CPAM: {"camille", "emma"}, SUP: {"camille", "emma"}, FS: {"camille", "emma", "sophie", "bernard"}}


@pytest.mark.parametrize("group", GROUPS)
def test_people_are_found_only_by_an_exact_search_in_the_agent_territory(agents, personas, group):
    for term, found in SEARCHES.items():
        response = agents[group].get(_changelist(Patient), {"q": term} if term else {})
        if group not in COUNSELLORS:
            assert response.status_code == 403
            continue
        assert response.status_code == 200
        page = response.content.decode()
        for name in ("camille", "julien", "leo", "emma", "sophie", "bernard"):
            shown = reverse("admin:accounts_patient_change", args=[getattr(personas, name).pk]) in page
            assert shown == (name in found & TERRITORY[group]), (group, term, name)


def test_a_name_alone_gets_a_french_message_and_nobody(agents, personas):
    page = agents[FS].get(_changelist(Patient), {"q": "Lefèvre"}).content.decode()
    assert "Recherche non prise en charge" in page
    assert reverse("admin:accounts_patient_change", args=[personas.camille.pk]) not in page


@pytest.mark.parametrize("group", GROUPS)
def test_a_person_page_opens_only_once_found_and_in_territory(agents, personas, group):
    client = agents[group]
    for person, in_territory in ((personas.camille, True), (personas.sophie, group == FS)):
        before = {name: client.get(reverse(name, args=[person.pk])) for name in PATIENT_PAGES}
        for name, response in before.items():
            if group not in PATIENT_PAGES[name]:
                assert response.status_code == 403, (group, name)
            else:  # not found yet: back to the search, or not found
                assert response.status_code in (302, 404), (group, name)
                assert person.birth_name not in response.content.decode()
        client.get(_changelist(Patient), {"q": person.nir})
        for name in PATIENT_PAGES:
            status = client.get(reverse(name, args=[person.pk])).status_code
            if group not in PATIENT_PAGES[name]:
                assert status == 403, (group, name)
            else:
                found = FOUND_STATUS.get(name, 200)
                assert status == (found if in_territory else before[name].status_code), (group, name, person)
    receipt = client.get(reverse("admin:patient_opposition_receipt", args=[uuid.uuid4()]))
    assert receipt.status_code == (404 if group in COUNSELLORS else 403)


def test_a_parent_found_at_the_desk_opens_the_children_on_their_card(agents, personas):
    client = agents[FS]
    assert client.get(reverse("admin:patient_child_profile", args=[personas.emma.pk])).status_code == 404
    client.get(_changelist(Patient), {"q": personas.julien.nir})
    client.get(reverse("admin:accounts_patient_change", args=[personas.julien.pk]))
    assert client.get(reverse("admin:patient_child_profile", args=[personas.emma.pk])).status_code == 200


def test_the_lookup_shows_in_the_person_history_without_medical_content(agents, personas, session_as, client):
    from tests.dossier.factories import make_document

    make_document(personas.camille, title="Compte rendu très confidentiel")
    agent = agents[FS]
    agent.get(_changelist(Patient), {"q": personas.camille.nir})
    agent.get(reverse("admin:accounts_patient_change", args=[personas.camille.pk]))
    events = AuditEvent.objects.filter(patient=personas.camille, actor_role="agent")
    assert set(events.values_list("action", flat=True)) == {Action.AGENT_PATIENT_FOUND, Action.AGENT_PATIENT_VIEWED}
    assert all("confidentiel" not in str(event.data) and not event.target_label for event in events)
    session_as(client, "camille")
    page = client.get(reverse("dossier:access_history"), {"onglet": "conseillers"}).content.decode()
    assert "Un conseiller de l’Assurance Maladie" in page
    assert "a consulté votre fiche administrative" in page
    assert "a retrouvé votre fiche administrative par une recherche" in page
    assert "Girard" not in page  # agents are not named to the patient


def test_a_cpam_supervisor_lists_only_the_caisse_territory(agents, personas):
    page = agents[SUP].get(_changelist(HealthSpace)).content.decode()
    spaces = HealthSpace.objects.select_related("patient")
    for space in spaces:
        link = reverse("admin:activation_healthspace_change", args=[space.pk])
        assert (link in page) == space.patient.postal_code.startswith("31"), space.patient
    amiens = reverse("admin:activation_healthspace_change", args=[spaces.get(patient=personas.sophie).pk])
    assert agents[SUP].get(amiens).status_code == 302  # not the caisse's: "does not exist"


# --- Actions --------------------------------------------------------------------------------------------


def _performed(label: str, action: str, obj, response, before) -> bool:
    if action == "export_csv":
        return response.get("Content-Type", "").startswith("text/csv")
    if action == "delete_selected":
        return not type(obj).objects.filter(pk=obj.pk).exists()
    obj.refresh_from_db()
    if label == "accounts.SoftwareClient":
        return obj.oauth_client_id != before  # rotate
    if label == "catalogue.Service":
        wanted = {"suspend": ServiceStatus.SUSPENDED, "put_online": ServiceStatus.ONLINE}
        return obj.status == wanted.get(action, ServiceStatus.DEREFERENCED)
    return obj.handled_at is not None  # mark_handled


@pytest.mark.parametrize("group", GROUPS)
def test_every_action_answers_each_group(agents, objects, group):
    for (label, action), allowed in ACTIONS.items():
        obj = objects[label]
        if action == "put_online":
            Service.objects.filter(pk=obj.pk).update(status=ServiceStatus.SUSPENDED)
        before = getattr(obj, "oauth_client_id", None)
        response = agents[group].post(
            _changelist(type(obj)), {"action": action, "_selected_action": [obj.pk], "post": "yes", "index": 0}
        )
        assert _performed(label, action, obj, response, before) == (group in allowed), (group, label, action)
        if group not in VIEW[label]:
            assert response.status_code == 403
