"""Registering establishments and software clients: the "Établissements" staff's admin pages and
`manage.py etablissement`. FINESS and keys are checked, the OAuth client is created (client credentials,
confidential, private_key_jwt only), every write is audited; other groups cannot open the pages
(tests/access/test_admin_matrix.py)."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse
from joserfc.jwk import RSAKey
from oauth2_provider.models import get_application_model

from accounts import services as account_services
from accounts.enums import Organisation, UserKind
from accounts.models import Agent, Establishment, SoftwareClient
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
Application = get_application_model()


@pytest.fixture
def staff(personas, client, session_as):
    user = account_services.user_create(
        username="agent.etablissements",
        kind=UserKind.AGENT,
        email="agent.etablissements@assurance-maladie.example",
        first_name="Nora",
        last_name="Établissements",
        password="Agent-Test-2026!",
        is_staff=True,
    )
    user.groups.add(Group.objects.get(name="Établissements"))
    account_services.totp_device_add(user=user, key_hex="0a" * 20)
    Agent.objects.create(user=user, organisation=Organisation.CPAM, organisation_name="Test")
    session_as(client, user)
    return client


def _public_jwks() -> dict:
    return {"keys": [RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True).as_dict(private=False)]}


def test_the_staff_registers_an_establishment_with_a_valid_finess(staff):
    url = reverse("admin:accounts_establishment_add")
    response = staff.post(url, {"finess": "310781405", "name": "CHU de Toulouse", "kind": "hopital", "active": "on"})
    assert response.status_code == 200 and "numéro FINESS n’est pas valide" in response.content.decode()
    assert not Establishment.objects.exists()
    response = staff.post(url, {"finess": "310781406", "name": "CHU de Toulouse", "kind": "hopital", "active": "on"})
    assert response.status_code == 302
    establishment = Establishment.objects.get(finess="310781406")
    event = AuditEvent.objects.get(action=Action.ESTABLISHMENT_SAVED)
    assert event.data == {"created": True, "kind": "hopital", "active": True}
    assert event.target_label == str(establishment)


def test_the_staff_registers_a_software_client_and_rotates_it(staff, personas):
    establishment = Establishment.objects.create(finess="310781406", name="CHU de Toulouse", kind="hopital")
    url = reverse("admin:accounts_softwareclient_add")
    base = {"name": "DxCare", "establishment": establishment.pk, "active": "on", "oauth_jwks_uri": ""}
    private = RSAKey.generate_key(2048, private=True).as_dict(private=True)
    for data, message in (
        ({**base, "oauth_jwks": ""}, "indiquez son JWKS"),
        ({**base, "oauth_jwks": json.dumps({"keys": [private]})}, "clé privée"),
        ({**base, "oauth_jwks": json.dumps(_public_jwks()), "rpps": "12345678901"}, "RPPS"),
        ({**base, "oauth_jwks": "", "oauth_jwks_uri": "http://chu.example/jwks"}, "https://"),
    ):
        response = staff.post(url, data)
        assert response.status_code == 200 and message in response.content.decode(), message
    assert not SoftwareClient.objects.exists()

    response = staff.post(url, {**base, "oauth_jwks": json.dumps(_public_jwks()), "rpps": personas.dr_martin.rpps})
    assert response.status_code == 302
    software = SoftwareClient.objects.get()
    assert software.professional == personas.dr_martin
    application = Application.objects.get(client_id=software.oauth_client_id)
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert AuditEvent.objects.get(action=Action.SOFTWARE_CLIENT_SET).data["professional"] is True

    # An inactive professional cannot be named.
    personas.kine_bernard.user.is_active = False
    personas.kine_bernard.user.save()
    change = reverse("admin:accounts_softwareclient_change", args=[software.pk])
    response = staff.post(
        change, {**base, "oauth_jwks": json.dumps(_public_jwks()), "rpps": personas.kine_bernard.rpps}
    )
    assert response.status_code == 200 and "n’est pas actif" in response.content.decode()

    old = software.oauth_client_id
    changelist = reverse("admin:accounts_softwareclient_changelist")
    staff.post(changelist, {"action": "rotate", "_selected_action": [software.pk], "index": 0})
    software.refresh_from_db()
    assert software.oauth_client_id != old
    assert AuditEvent.objects.filter(action=Action.SOFTWARE_CLIENT_ROTATED, target_id=str(software.public_id)).exists()


def test_the_command_registers_an_establishment_and_its_software(personas, tmp_path, capsys):
    with pytest.raises(CommandError, match="FINESS"):
        call_command("etablissement", "310781405", nom="CHU", type="hopital")
    call_command("etablissement", "310781406", nom="CHU de Toulouse", type="hopital")
    establishment = Establishment.objects.get(finess="310781406")
    keys = tmp_path / "cles.json"
    keys.write_text(json.dumps(_public_jwks()))
    call_command(
        "etablissement", "310781406", client="Logiciel du cabinet", jwks=str(keys), rpps=personas.dr_martin.rpps
    )
    software = SoftwareClient.objects.get(establishment=establishment)
    assert software.professional == personas.dr_martin and software.oauth_client_id in capsys.readouterr().out
    old = software.oauth_client_id
    call_command("etablissement", "310781406", client="Logiciel du cabinet", renouveler=True)
    software.refresh_from_db()
    assert software.oauth_client_id != old
    with pytest.raises(CommandError, match="RPPS"):
        call_command("etablissement", "310781406", client="Autre", jwks=str(keys), rpps="10000000000")
    with pytest.raises(CommandError, match="JWKS"):
        call_command("etablissement", "310781406", client="Autre")
    with pytest.raises(CommandError, match="--nom"):
        call_command("etablissement", "750712184")
