"""Roles × document pages on a real document of Camille's: allowed reads leave a trace, refused ones nothing."""

import pytest
from django.urls import reverse

from dossier.models import CareTeamMember
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.dossier.factories import PDF, make_document

pytestmark = pytest.mark.django_db

# camille: the patient; julien: another patient; dr_martin: her médecin traitant; kine_bernard: in her care
# team (matrix forbids biology); pharmacien_leroy: not in the team; kine_blocked: blocked; agents never.
EXPECTED = {
    "dossier:document_download": {
        "anonymous": 302,
        "camille": 200,
        "julien": 404,
        "dr_martin": 200,
        "kine_bernard": 404,
        "pharmacien_leroy": 404,
        "kine_blocked": 404,
        "agent_cpam": 404,
        "agent_france_services": 404,
    },
    "dossier:document_detail": {
        "anonymous": 302,
        "camille": 200,
        "julien": 404,
        "dr_martin": 403,
        "kine_bernard": 403,
        "pharmacien_leroy": 403,
        "kine_blocked": 403,
        "agent_cpam": 403,
        "agent_france_services": 403,
    },
    "pro_document": {
        "anonymous": 302,
        "camille": 403,
        "julien": 403,
        "dr_martin": 200,
        "kine_bernard": 404,
        "pharmacien_leroy": 404,
        "kine_blocked": 404,
        "agent_cpam": 403,
        "agent_france_services": 403,
    },
}
CASES = [(name, persona, status) for name, row in EXPECTED.items() for persona, status in row.items()]


@pytest.mark.parametrize(("name", "persona", "status"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_document_access(client, session_as, personas, name, persona, status):
    from dossier.enums import DocumentCategory

    CareTeamMember.objects.create(
        patient=personas.camille, professional=personas.kine_bernard, role="added_by_patient"
    )
    document = make_document(personas.camille, title="Bilan sanguin", category=DocumentCategory.BIOLOGIE)
    if persona == "kine_blocked":
        CareTeamMember.objects.filter(professional=personas.kine_bernard).update(
            blocked_at="2026-01-01T00:00:00Z", role="added_by_patient"
        )
        persona = "kine_bernard"
    session_as(client, persona)
    before = AuditEvent.objects.filter(action__in=[Action.DOCUMENT_VIEWED, Action.DOCUMENT_DOWNLOADED]).count()
    response = client.get(reverse(name, args=[document.public_id]))
    assert response.status_code == status
    body = response.content
    traced = (
        AuditEvent.objects.filter(action__in=[Action.DOCUMENT_VIEWED, Action.DOCUMENT_DOWNLOADED]).count() - before
    )
    if status == 200:
        assert traced == 1
    else:
        assert traced == 0
        assert PDF not in body and b"Bilan sanguin" not in body


REPRESENTATIVE_AND_EMERGENCY = [
    # (persona, document owner, document flags, expected status of dossier:document_download)
    ("julien_for_leo", "leo", {}, 200),
    ("julien_for_leo", "leo", {"hidden_from_representatives": True}, 404),
    ("julien_for_leo", "camille", {}, 404),
    ("pharmacien_emergency", "camille", {"category": "ordonnances"}, 200),
    ("pharmacien_emergency", "camille", {"category": "ordonnances", "hidden": True}, 404),
    ("pharmacien_emergency", "leo", {"category": "ordonnances"}, 404),  # the emergency covers Camille only
]


@pytest.mark.parametrize(("persona", "owner", "flags", "status"), REPRESENTATIVE_AND_EMERGENCY)
def test_representative_and_emergency_access(client, session_as, personas, persona, owner, flags, status):
    from dossier.services import emergency_start
    from espace_sante.access.actor import Actor
    from espace_sante.access.middleware import SESSION_EMERGENCIES

    document = make_document(getattr(personas, owner), title="Document du matrix", **flags)
    if persona == "julien_for_leo":
        session_as(client, "julien")
        client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    else:
        session_as(client, "pharmacien_leroy")
        actor = Actor.for_user(personas.pharmacien_leroy.user, verified=True)
        access = emergency_start(patient=personas.camille, by=actor, kind="break_glass", reason="Malaise au comptoir")
        session = client.session
        session[SESSION_EMERGENCIES] = [str(access.public_id)]
        session.save()
    response = client.get(reverse("dossier:document_download", args=[document.public_id]))
    assert response.status_code == status
    traced = AuditEvent.objects.filter(action=Action.DOCUMENT_DOWNLOADED, patient=document.patient)
    assert traced.exists() is (status == 200)
    if persona == "pharmacien_emergency" and status == 200:
        assert traced.get().data.get("emergency")
