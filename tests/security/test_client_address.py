"""The client's address behind the reverse proxy: throttles and audit rows key on the client, not the proxy.

Requests come as our proxy passes them on: REMOTE_ADDR is the proxy, and X-Forwarded-For ends with the
address the proxy received the request from, after whatever the client wrote there (nginx
`$proxy_add_x_forwarded_for`). tests/security/test_behind_a_proxy.py does the same through a real
gunicorn and a real forwarding proxy.
"""

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from activation import codes
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.lib.client_address import client_ip_from
from tests.activation.factories import nir_for
from tests.conftest import SERIAL, totp_now

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
THROTTLED = "Trop de tentatives"


def via_proxy(address: str, *, forged: str = "") -> dict[str, str]:
    """What gunicorn receives when `address` sends a request (with `forged` in its own X-Forwarded-For)."""
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{forged}, {address}" if forged else address}


@pytest.fixture
def one_proxy(settings):
    settings.TRUSTED_PROXY_HOPS = 1


def wrong_login(client, identifiant: str, url: str = "accounts:login", **meta):
    return client.post(reverse(url), {"identifiant": identifiant, "password": "Pas-le-bon-1!"}, **meta)


@pytest.mark.parametrize(
    ("remote", "forwarded", "hops", "expected"),
    [
        ("10.0.0.2", "203.0.113.7", 0, "10.0.0.2"),  # no proxy of ours: the header is the client's, ignored
        ("10.0.0.2", "", 1, "10.0.0.2"),  # a request that skipped the proxy (health check on loopback)
        ("10.0.0.2", "203.0.113.7", 1, "203.0.113.7"),
        ("10.0.0.2", "1.2.3.4, 5.6.7.8, 203.0.113.7", 1, "203.0.113.7"),  # the client wrote the first two
        ("10.0.0.2", "1.2.3.4, 203.0.113.7, 10.0.0.9", 2, "203.0.113.7"),  # a CDN, then our proxy
        ("10.0.0.2", "203.0.113.7", 2, "203.0.113.7"),  # the CDN was skipped: what is there is ours
        ("10.0.0.2", " 2001:DB8::1 ", 1, "2001:db8::1"),
        ("10.0.0.2", "1.2.3.4, not-an-address", 1, "10.0.0.2"),  # a broken proxy: never the client's entry
        ("10.0.0.2", "unknown, 203.0.113.7", 2, "203.0.113.7"),
        ("", "", 0, ""),
    ],
)
def test_the_client_is_the_entry_appended_by_the_outermost_trusted_proxy(remote, forwarded, hops, expected):
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_ip_from(meta, hops) == expected


def test_failed_logins_from_many_clients_lock_out_no_other_client(client, personas, one_proxy):
    """Behind the proxy every request had one REMOTE_ADDR: 31 failures locked everybody out of the login."""
    for i in range(40):
        response = wrong_login(client, f"inconnu.{i}", **via_proxy(f"198.51.100.{i + 1}"))
        assert "Identifiant ou mot de passe incorrect." in response.content.decode()
        pro = wrong_login(client, f"inconnu.pro.{i}", "accounts:pro_login", **via_proxy(f"198.51.100.{i + 1}"))
        assert THROTTLED not in pro.content.decode()
    response = client.post(
        reverse("accounts:login"),
        {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD},
        **via_proxy("203.0.113.50"),
    )
    assert response.status_code == 302 and response.url == reverse("accounts:login_otp")
    other = type(client)()
    response = other.post(
        reverse("accounts:pro_login"),
        {"identifiant": "dr.martin", "password": DEMO_PASSWORD},
        **via_proxy("203.0.113.51"),
    )
    assert response.status_code == 302 and response.url == reverse("accounts:pro_login_otp")


def test_wrong_codes_from_many_clients_keep_activation_open(client, informed, one_proxy):
    """12 wrong codes used to close /activation/ for the whole country."""
    patient, code = informed()
    for i in range(25):
        data = {"code": "ABCD-EFGH-JKMN-PQRS", "nir": nir_for(sex=1, year=1970, month=5, order=100 + i)}
        response = client.post(
            reverse("activation:start"),
            {**data, "card_type": "avec_photo", "serial": SERIAL},
            **via_proxy(f"198.51.100.{i + 1}"),
        )
        assert "ne permettent pas de vous identifier" in response.content.decode()
    response = client.post(
        reverse("activation:start"),
        {"code": codes.display(code), "nir": patient.nir, "card_type": "avec_photo", "serial": SERIAL},
        **via_proxy("203.0.113.50"),
    )
    assert response.status_code == 302 and response.url == reverse("activation:choice")


def test_a_forged_forwarded_for_does_not_leave_the_clients_own_bucket(client, personas, one_proxy):
    """A client writing a new address in X-Forwarded-For at every request is still slowed down: the proxy
    appended its real address last, and that is the one read."""
    answers = [
        wrong_login(client, f"inconnu.{i}", **via_proxy("198.51.100.9", forged=f"203.0.113.{i + 1}"))
        for i in range(32)
    ]
    assert THROTTLED not in answers[0].content.decode()
    assert THROTTLED in answers[-1].content.decode()
    addresses = set(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("ip_address", flat=True))
    assert addresses == {"198.51.100.9"}  # the audit rows name the client: not the proxy, not the forgery
    # Another client behind the same proxy is not slowed down.
    response = client.post(
        reverse("accounts:login"),
        {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD},
        **via_proxy("198.51.100.10"),
    )
    assert response.status_code == 302


def test_without_a_trusted_proxy_the_header_is_ignored(client, personas, settings):
    """TRUSTED_PROXY_HOPS=0 (the default): X-Forwarded-For comes from the client and counts for nothing."""
    assert settings.TRUSTED_PROXY_HOPS == 0
    answers = [
        wrong_login(client, f"inconnu.{i}", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{i + 1}")
        for i in range(32)
    ]
    assert THROTTLED in answers[-1].content.decode()
    addresses = set(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("ip_address", flat=True))
    assert addresses == {"198.51.100.9"}


def test_the_agents_admin_records_the_client_behind_the_proxy(client, personas, one_proxy):
    agent = personas.agent_cpam.user
    response = client.post(
        reverse("admin:login"),
        {"username": agent.username, "password": DEMO_PASSWORD, "otp_token": totp_now(agent), "next": "/admin/"},
        **via_proxy("203.0.113.60"),
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.LOGIN_SUCCEEDED, actor_user=agent)
    assert event.ip_address == "203.0.113.60"
