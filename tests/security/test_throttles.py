"""What the throttles promise: a request refused for one key spends no other key's attempts, and the
agents' admin login is throttled like the portal's, before any password is hashed."""

import threading

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from activation import codes
from activation.models import ProvisionalCode
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.lib.throttle import Throttle, admit_all
from tests.activation.factories import nir_for
from tests.conftest import SERIAL, totp_now

pytestmark = pytest.mark.django_db

ATTACKER, VICTIM = "198.51.100.66", "203.0.113.20"
THROTTLED = "Trop de tentatives"


def wrong_login(client, identifiant: str, address: str, url: str = "accounts:login"):
    return client.post(reverse(url), {"identifiant": identifiant, "password": "Pas-le-bon-1!"}, REMOTE_ADDR=address)


def slow_down_address(client, address: str) -> None:
    """Failed logins with made-up identifiants until the address itself is slowed down."""
    for i in range(40):
        response = wrong_login(client, f"inconnu.{i}", address)
    assert THROTTLED in response.content.decode()


# --- A refusal spends nobody else's attempts ----------------------------------------------------------------


def test_a_slowed_down_address_cannot_use_up_someones_login_attempts(client, personas):
    slow_down_address(client, ATTACKER)
    for _ in range(50):
        assert THROTTLED in wrong_login(client, "camille.lefevre", ATTACKER).content.decode()
    # Camille, from her own address: her first attempt is not delayed.
    response = client.post(
        reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD}, REMOTE_ADDR=VICTIM
    )
    assert response.status_code == 302 and response.url == reverse("accounts:login_otp")


def test_a_slowed_down_identifiant_does_not_use_up_the_address(client, personas):
    """Requests refused because the identifiant is slowed down give the address its attempt back: the
    others at a shared desk can still sign in."""
    for _ in range(60):
        wrong_login(client, "julien.moreau", ATTACKER)
    assert THROTTLED in wrong_login(client, "julien.moreau", ATTACKER).content.decode()
    response = client.post(
        reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 302


def identify(client, *, code: str, nir: str, address: str):
    data = {"code": code, "nir": nir, "card_type": "avec_photo", "serial": SERIAL}
    return client.post(reverse("activation:start"), data, REMOTE_ADDR=address)


def test_a_slowed_down_address_cannot_use_up_someones_nir(client, informed):
    patient, code = informed()
    for i in range(15):  # random NIRs until the address is slowed down
        response = identify(
            client, code="ABCD-EFGH-JKMN-PQRS", nir=nir_for(sex=1, year=1970, month=5, order=100 + i), address=ATTACKER
        )
    assert THROTTLED in response.content.decode()
    for _ in range(40):
        response = identify(client, code="ABCD-EFGH-JKMN-PQRS", nir=patient.nir, address=ATTACKER)
        assert THROTTLED in response.content.decode()
    response = identify(client, code=codes.display(code), nir=patient.nir, address=VICTIM)
    assert response.status_code == 302 and response.url == reverse("activation:choice")
    assert ProvisionalCode.objects.get(patient=patient).failed_attempts == 0


def test_a_slowed_down_address_cannot_use_up_someones_new_code_requests(
    client, informed, mailoutbox, django_capture_on_commit_callbacks
):
    patient, _ = informed()
    url = reverse("activation:new_code")
    asked = {"nir": patient.nir, "serial": SERIAL, "birth_date": "02/04/1990"}
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(10):
            client.post(url, {**asked, "nir": nir_for(sex=1, year=1970, month=5, order=100 + i)}, REMOTE_ADDR=ATTACKER)
        for _ in range(10):  # refused for the address: the NIR's three requests stay untouched
            client.post(url, asked, REMOTE_ADDR=ATTACKER)
    assert len(mailoutbox) == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, asked, REMOTE_ADDR=VICTIM)
    assert [message.to for message in mailoutbox] == [[patient.email]]


def test_admit_all_stops_at_the_first_refusal_and_gives_back_the_earlier_keys():
    first = Throttle("t-first", free_attempts=2, base_delay_seconds=60)
    second = Throttle("t-second", free_attempts=2, base_delay_seconds=60)
    for throttle in (first, second):
        throttle.reset("x")
    # The first key slowed down: its refusals never reach the second key.
    assert [first.admit("x") for _ in range(3)][-1] > 0
    assert all(admit_all((first, "x"), (second, "x")) for _ in range(20))
    assert [second.admit("x") for _ in range(3)] == [0, 0, 60]  # the second key's two attempts were still there
    # The second key slowed down: the first key's attempt is given back each time, delay slot included.
    first.reset("x")
    assert first.admit("x") == 0  # the first key's free attempt; its next one takes the delay slot
    assert all(admit_all((first, "x"), (second, "x")) for _ in range(20))
    assert first.admit("x") == 0  # the delay slot was never spent
    assert first.admit("x") == 60  # and the delay did not double


@pytest.mark.parametrize(("free_first", "free_second"), [(10, 3), (3, 10)])
def test_a_burst_through_two_keys_never_gets_more_than_either_limit(free_first, free_second):
    first = Throttle("t-burst-first", free_attempts=free_first, base_delay_seconds=60)
    second = Throttle("t-burst-second", free_attempts=free_second, base_delay_seconds=60)
    for throttle in (first, second):
        throttle.reset("x")
    start, results = threading.Barrier(40), []

    def attempt() -> None:
        start.wait()
        results.append(admit_all((first, "x"), (second, "x")))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(0) == min(free_first, free_second)


# --- The agents' admin login ---------------------------------------------------------------------------------


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting the passwords it hashes (checking one hashes it again: verify calls encode)."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.calls = 0
    return CountingHasher


def admin_login(client, username: str, password: str, otp: str = "000000", address: str = ATTACKER):
    data = {"username": username, "password": password, "otp_token": otp, "next": "/admin/"}
    return client.post(reverse("admin:login"), data, REMOTE_ADDR=address)


def test_admin_login_refuses_the_fortieth_wrong_password_without_checking_it(client, personas, counting_hasher):
    agent = personas.agent_cpam.user
    answers = [admin_login(client, agent.username, f"Mauvais-{i}-mot!") for i in range(40)]
    assert "Identifiant, mot de passe ou code incorrect." in answers[0].content.decode()
    page = answers[-1].content.decode()
    assert "Trop de tentatives de connexion. Réessayez dans 1 minute." in page
    # Four free attempts and one after the first delay: the other 35 passwords were never hashed.
    assert counting_hasher.calls == 5
    assert AuditEvent.objects.filter(action=Action.LOGIN_THROTTLED, data__portal="admin").count() == 35
    # Even the right password and code wait for the delay.
    right = admin_login(client, agent.username, DEMO_PASSWORD, totp_now(agent), address=VICTIM)
    assert THROTTLED in right.content.decode() and right.status_code == 200
    assert counting_hasher.calls == 5


def test_admin_login_shares_the_portal_throttle_by_address(client, personas, counting_hasher):
    """Made-up identifiants from one address: slowed down after the portal's limit, on every login page."""
    slow_down_address(client, ATTACKER)
    calls = counting_hasher.calls
    agent = personas.agent_cpam.user
    response = admin_login(client, agent.username, DEMO_PASSWORD, totp_now(agent))
    assert "Trop de tentatives de connexion" in response.content.decode()
    assert counting_hasher.calls == calls
    # The agent from another address is let in, and the right password resets the identifiant.
    response = admin_login(client, agent.username, DEMO_PASSWORD, totp_now(agent), address=VICTIM)
    assert response.status_code == 302
