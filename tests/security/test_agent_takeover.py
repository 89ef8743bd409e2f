"""Issue 15, item 1: an agent must never be able to redirect a person's second factor.

Reproduces the takeover from the outside: an agent logs into /admin/, types their own address as the
person's new e-mail, then uses "mot de passe oublié". Every message is read from the mail outbox.
"""

import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import ContactChangeRequest, Patient, User
from activation.models import ProvisionalCode
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.conftest import SERIAL, agent_finds, login_agent, login_patient

pytestmark = pytest.mark.django_db

OLD = "camille.lefevre@example.org"
PIRATE = "pirate@evil.example"
LINK_RE = re.compile(r"http://testserver(/coordonnees/confirmer/\S+/)")
READ_BACK_RE = re.compile(r"confirmer la modification : (\d{6})")


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Send a request with its after-commit work done (outbox delivery, queued tasks), as in production."""

    def _run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return _run


def _agent_changes_contacts(client, run, patient, *, email, phone=None):
    agent_finds(client, patient)
    url = reverse("admin:patient_contacts", args=[patient.pk])
    data = {"email": email, "phone": patient.phone if phone is None else phone, "check_note": "Appel au 3422"}
    return run(client.post, url, data)


def _to(mailoutbox, address):
    return [mail for mail in mailoutbox if address in mail.to]


def _reset(client, run, email):
    return run(client.post, reverse("accounts:password_reset"), {"email": email})


def test_an_agent_typing_their_own_address_gets_no_reset_link_and_no_login_code(client, personas, mailoutbox, run):
    camille = personas.camille
    agent = client_for_agent = type(client)()
    login_agent(client_for_agent, personas.agent_france_services.user)

    response = _agent_changes_contacts(agent, run, camille, email=PIRATE)
    assert response.status_code == 302
    assert response.url == reverse("admin:patient_contacts_confirm", args=[camille.pk])
    # Nothing changed for login: the account and the record keep the old address.
    assert User.objects.get(pk=camille.user.pk).email == OLD
    assert Patient.objects.get(pk=camille.pk).email == OLD
    # The old address is told at once, in French, without the new address.
    notice = _to(mailoutbox, OLD)[-1]
    assert "demande de modification de votre adresse e-mail" in notice.body
    assert "pirate" not in notice.body and "evil.example" not in notice.body + notice.subject

    # "Mot de passe oublié" for the agent's address: the same page as for any address, and no link.
    unknown = _reset(client, run, "personne@example.org")
    response = _reset(client, run, PIRATE)
    assert response.status_code == unknown.status_code == 302 and response.url == unknown.url
    # The person logs in: the code still goes to the old address.
    login_patient(type(client)(), "camille.lefevre", mailoutbox)
    assert mailoutbox[-1].to == [OLD]

    to_agent = _to(mailoutbox, PIRATE)
    assert len(to_agent) == 1  # the confirmation link only
    for mail in to_agent:
        assert "/mot-de-passe/nouveau/" not in mail.body
        assert "connexion à Mon espace santé" not in mail.body
    # The agent holds the link but not the password: five wrong tries and the request is gone.
    link = LINK_RE.search(to_agent[0].body).group(1)
    assert "mot de passe" in agent.get(link).content.decode()
    for _ in range(5):
        page = run(agent.post, link, {"password": "Devine-2026!"}).content.decode()
    assert "n’est plus valable" in page
    assert "n’est plus valable" in run(agent.post, link, {"password": DEMO_PASSWORD}).content.decode()
    assert User.objects.get(pk=camille.user.pk).email == OLD
    # Nor can the agent confirm by guessing the read-back code (sent to the person, not to them).
    assert not _to(mailoutbox, PIRATE)[1:]


def test_audit_rows_record_the_change_without_the_addresses(client, personas, mailoutbox, run):
    login_agent(client, personas.agent_cpam.user)
    _agent_changes_contacts(client, run, personas.camille, email=PIRATE, phone="0799887766")
    events = AuditEvent.objects.filter(patient=personas.camille, action=Action.CONTACTS_CHANGE_REQUESTED)
    assert events.count() == 1
    event = events.get()
    assert event.data["fields"] == ["email", "phone"]
    assert event.actor_role == "agent"
    for row in AuditEvent.objects.all():
        text = f"{row.data} {row.target_label} {row.actor_label}"
        assert "pirate" not in text and "0799887766" not in text


def test_confirmation_from_the_new_address_takes_effect_and_ends_every_session(client, personas, mailoutbox, run):
    camille, new = personas.camille, "camille.nouvelle@example.net"
    own = type(client)()
    login_patient(own, "camille.lefevre", mailoutbox)
    assert own.get(reverse("accounts:dashboard")).status_code == 200
    agent = type(client)()
    login_agent(agent, personas.agent_france_services.user)
    _agent_changes_contacts(agent, run, camille, email=new)
    link = LINK_RE.search(_to(mailoutbox, new)[-1].body).group(1)

    wrong = run(client.post, link, {"password": "Pas-le-bon-1!"})
    assert "Mot de passe incorrect" in wrong.content.decode()
    assert User.objects.get(pk=camille.user.pk).email == OLD
    done = run(client.post, link, {"password": DEMO_PASSWORD})
    assert "Vos nouvelles coordonnées sont enregistrées" in done.content.decode()
    assert User.objects.get(pk=camille.user.pk).email == new
    assert Patient.objects.get(pk=camille.pk).email == new
    # Her session opened before is over; the old address is told it happened.
    ended = own.get(reverse("accounts:dashboard"))
    assert ended.status_code == 302 and SESSION_KEY not in own.session
    assert "viennent d’être modifiées" in _to(mailoutbox, OLD)[-1].body
    # The link served once.
    assert "n’est plus valable" in client.get(link).content.decode()
    # Login codes now go to the confirmed address.
    login_patient(type(client)(), "camille.lefevre", mailoutbox)
    assert mailoutbox[-1].to == [new]

    # No reset link goes to an address an agent put in during the last 7 days; the page is the same.
    before = len(mailoutbox)
    unknown = _reset(client, run, "personne@example.org")
    response = _reset(client, run, new)
    assert response.url == unknown.url == reverse("accounts:password_reset_done")
    assert len(mailoutbox) == before
    assert AuditEvent.objects.filter(action=Action.PASSWORD_RESET_WITHHELD, patient=camille).count() == 1
    # After the window, the person's confirmed address gets its reset link as usual.
    ContactChangeRequest.objects.update(confirmed_at=timezone.now() - datetime.timedelta(days=8))
    _reset(client, run, new)
    assert mailoutbox[-1].to == [new] and "/mot-de-passe/nouveau/" in mailoutbox[-1].body


def test_a_code_sent_to_the_current_address_and_read_to_the_agent_confirms(client, personas, mailoutbox, run):
    camille, new = personas.camille, "camille.guichet@example.net"
    own = type(client)()
    login_patient(own, "camille.lefevre", mailoutbox)
    login_agent(client, personas.agent_cpam.user)
    _agent_changes_contacts(client, run, camille, email=new, phone="0799887766")
    url = reverse("admin:patient_contacts_confirm", args=[camille.pk])
    page = client.get(url).content.decode()
    assert "c•••@example.org" in page and OLD not in page  # the agent sees masked current contacts only

    run(client.post, url, {"send": "email"})
    code_mail = mailoutbox[-1]
    assert code_mail.to == [OLD]  # the current, verified address: never the one the agent typed
    code = READ_BACK_RE.search(code_mail.body).group(1)
    assert code not in client.get(url).content.decode()
    wrong = run(client.post, url, {"confirm": "1", "token": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert "Code incorrect" in wrong.content.decode()
    assert User.objects.get(pk=camille.user.pk).email == OLD

    done = run(client.post, url, {"confirm": "1", "token": code})
    assert done.status_code == 302
    camille.refresh_from_db()
    assert camille.email == new and camille.phone == "0799887766"
    assert User.objects.get(pk=camille.user.pk).email == new
    assert own.get(reverse("accounts:dashboard")).status_code == 302  # her other sessions ended
    event = AuditEvent.objects.get(action=Action.CONTACTS_UPDATED, patient=camille)
    assert event.data["confirmed"] == "code_read_back" and event.actor_role == "agent"


def test_wrong_read_back_codes_cancel_the_request(client, personas, mailoutbox, run):
    login_agent(client, personas.agent_cpam.user)
    _agent_changes_contacts(client, run, personas.camille, email=PIRATE)
    url = reverse("admin:patient_contacts_confirm", args=[personas.camille.pk])
    run(client.post, url, {"send": "email"})
    code = READ_BACK_RE.search(mailoutbox[-1].body).group(1)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        run(client.post, url, {"confirm": "1", "token": wrong})
    response = run(client.post, url, {"confirm": "1", "token": code})
    assert response.status_code == 302  # nothing pending any more
    assert User.objects.get(pk=personas.camille.user.pk).email == OLD
    assert not ContactChangeRequest.objects.open().exists()


def test_an_account_keeps_an_email_and_a_no_op_changes_nothing(client, personas, mailoutbox, run):
    login_agent(client, personas.agent_cpam.user)
    empty = _agent_changes_contacts(client, run, personas.camille, email="")
    assert "garde une adresse e-mail" in empty.content.decode()
    same = _agent_changes_contacts(client, run, personas.camille, email=OLD)
    assert "déjà enregistrées" in same.content.decode()
    assert not ContactChangeRequest.objects.exists() and mailoutbox == []


def test_before_activation_new_codes_go_to_the_contact_on_file_until_the_card_confirms(
    client, personas, informed, mailoutbox, run
):
    """No account yet: the provisional code opens the space, so it never goes to an unconfirmed address."""
    patient, old_code = informed()
    login_agent(client, personas.agent_france_services.user)
    _agent_changes_contacts(client, run, patient, email=PIRATE)
    assert Patient.objects.get(pk=patient.pk).email == "jeanne.martin@example.org"
    assert ProvisionalCode.objects.filter(patient=patient, voided_at=None).count() == 1  # the letter's code lives

    run(client.post, reverse("admin:patient_new_code", args=[patient.pk]), {"confirm": "on"})
    assert mailoutbox[-1].to == ["jeanne.martin@example.org"]
    assert not [mail for mail in _to(mailoutbox, PIRATE) if "Code provisoire" in mail.body]

    # The link asks for the Vitale card, which the agent does not see.
    link = LINK_RE.search(_to(mailoutbox, PIRATE)[-1].body).group(1)
    page = client.get(link).content.decode()
    assert "carte Vitale" in page and 'name="serial"' in page
    guess = {"nir": patient.nir, "card_type": "avec_photo", "serial": "80250000020000000001"}
    assert "ne correspondent pas" in run(client.post, link, guess).content.decode()
    assert Patient.objects.get(pk=patient.pk).email == "jeanne.martin@example.org"
    done = run(client.post, link, {**guess, "serial": SERIAL})
    assert "Vos nouvelles coordonnées sont enregistrées" in done.content.decode()
    assert Patient.objects.get(pk=patient.pk).email == PIRATE
    assert not ProvisionalCode.objects.filter(patient=patient, voided_at=None, used_at=None).exists()


def test_the_persons_own_change_makes_a_pending_agent_request_lapse(client, personas, mailoutbox, run):
    from tests.accounts.reauth import mark_recently_authenticated

    agent = type(client)()
    login_agent(agent, personas.agent_cpam.user)
    _agent_changes_contacts(agent, run, personas.camille, email=PIRATE)
    link = LINK_RE.search(_to(mailoutbox, PIRATE)[-1].body).group(1)
    login_patient(client, "camille.lefevre", mailoutbox)
    mark_recently_authenticated(client)
    run(client.post, reverse("accounts:contact_change"), {"email": OLD, "phone": "0765432109"})
    assert not ContactChangeRequest.objects.open().exists()
    assert "n’est plus valable" in type(client)().get(link).content.decode()
    assert AuditEvent.objects.filter(action=Action.CONTACTS_CHANGE_CANCELLED, data__reason="superseded").exists()
