"""No user enumeration: the public forms answer alike, byte for byte and in time, whether a person exists.

Each case pairs a request about someone who does not exist with the same request about someone who does
(known identifiant with a wrong password, known e-mail, known NIR with a wrong code, known NIR and card
for a new code). Both must give the same status, the same cookies and the same page once CSRF tokens and
nonces are removed, and the same time.

Timing: each pair is measured TIMING_ROUNDS times, interleaved (A B, B A, A B …) so that load on the
shared machine hits both alike, with the throttling counters removed from the cache before every request
(throttling would otherwise answer early and hide the real work). We compare medians, which ignore the
few requests a busy neighbour slows down, and require

    |median_a − median_b| < max(15 ms, 0.5 × the smaller median).

Why this bound: on this 2-core machine, shared with other jobs, the medians of two identical code paths
stay within a few milliseconds of each other; 15 ms leaves room for that. The relative part only matters
when both branches are slow, i.e. when both already do the expensive work (two Argon2 hashes of ~200 ms
each may drift by tens of ms under load). What must be caught is work done on one branch only: Django's
production Argon2 hash costs 50–250 ms here, and a synchronous e-mail to a relay 50 ms or more (simulated
below): either adds far more than 15 ms to one median while the other stays at a few ms, so the smaller
median is small and the bound stays at 15 ms.
"""

import re
import statistics
import time
from collections.abc import Callable

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend
from django.test import Client
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from activation import codes
from espace_sante.outbox.models import OutboxMessage
from tests.activation.factories import nir_for
from tests.conftest import SERIAL

pytestmark = pytest.mark.django_db

TIMING_ROUNDS = 30
WARM_UP_ROUNDS = 3
PRODUCTION_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
RELAY_SECONDS = 0.05


class SlowRelayBackend(EmailBackend):
    """The test mailbox, with the round trip of a real SMTP relay: a mail sent during the request shows."""

    def send_messages(self, messages):
        time.sleep(RELAY_SECONDS)
        return super().send_messages(messages)


@pytest.fixture
def production_hashing(settings, personas):
    """Passwords hashed as in production (Argon2); the test settings use MD5 to go fast."""
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS
    for persona in (personas.camille,):
        persona.user.set_password(DEMO_PASSWORD)
        persona.user.save(update_fields=["password"])
        assert persona.user.password.startswith("argon2")
    return personas


@pytest.fixture
def slow_relay(settings):
    settings.EMAIL_BACKEND = f"{__name__}.SlowRelayBackend"


def _forget_throttles() -> None:
    """Remove this test run's throttling counters (and only them) from Redis."""
    client = cache._cache.get_client(write=True)
    prefix = django_settings.CACHES["default"].get("KEY_PREFIX", "")
    keys = list(client.scan_iter(match=f"{prefix}:*throttle:*"))
    if keys:
        client.delete(*keys)


CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
NONCE_RE = re.compile(r'nonce="[^"]*"')


def _page(response, typed: tuple[str, ...]) -> str:
    """The response body without what legitimately differs: CSRF tokens, nonces, and what was typed."""
    body = response.content.decode()
    body = CSRF_RE.sub('name="csrfmiddlewaretoken" value=""', body)
    body = NONCE_RE.sub('nonce=""', body)
    for value in sorted(typed, key=len, reverse=True):
        body = body.replace(value, "«saisie»")
    return body


def _assert_same_answer(a, b, *, typed_a: tuple[str, ...], typed_b: tuple[str, ...]) -> None:
    assert a.status_code == b.status_code
    assert a.get("Location") == b.get("Location")
    assert sorted(a.cookies) == sorted(b.cookies)
    assert _page(a, typed_a) == _page(b, typed_b)


def _medians(case_a: Callable[[], object], case_b: Callable[[], object]) -> tuple[float, float]:
    for _ in range(WARM_UP_ROUNDS):  # first requests load templates and open connections
        for case in (case_a, case_b):
            _forget_throttles()
            case()
    times_a: list[float] = []
    times_b: list[float] = []
    for i in range(TIMING_ROUNDS):
        order = [(case_a, times_a), (case_b, times_b)]
        if i % 2:
            order.reverse()
        for case, times in order:
            _forget_throttles()
            start = time.perf_counter()
            case()
            times.append(time.perf_counter() - start)
    return statistics.median(times_a), statistics.median(times_b)


def _assert_same_time(case_a, case_b) -> None:
    median_a, median_b = _medians(case_a, case_b)
    bound = max(0.015, 0.5 * min(median_a, median_b))
    print(f"timing: {median_a * 1000:.1f} ms vs {median_b * 1000:.1f} ms (bound {bound * 1000:.1f} ms)")  # noqa: T201
    assert abs(median_a - median_b) < bound, (
        f"medians {median_a * 1000:.1f} ms vs {median_b * 1000:.1f} ms (bound {bound * 1000:.1f} ms)"
    )


# --- Login -------------------------------------------------------------------------------------------------


def test_login_unknown_identifiant_and_wrong_password_look_alike(client, production_hashing):
    unknown = {"identifiant": "personne.inconnue", "password": "Mauvais-Mot-1!"}
    known = {"identifiant": "camille.lefevre", "password": "Mauvais-Mot-1!"}

    def post(data):
        return lambda: Client().post(reverse("accounts:login"), data)

    a, b = post(unknown)(), post(known)()
    assert a.status_code == 200 and "Identifiant ou mot de passe incorrect." in a.content.decode()
    _assert_same_answer(a, b, typed_a=("personne.inconnue",), typed_b=("camille.lefevre",))
    _assert_same_time(post(unknown), post(known))


def test_professional_login_unknown_and_wrong_portal_look_alike(client, production_hashing):
    """A patient's identifiant on the professional login answers like an unknown one."""
    unknown = {"identifiant": "personne.inconnue", "password": DEMO_PASSWORD}
    patient = {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD}

    def post(data):
        return lambda: Client().post(reverse("accounts:pro_login"), data)

    a, b = post(unknown)(), post(patient)()
    _assert_same_answer(a, b, typed_a=("personne.inconnue",), typed_b=("camille.lefevre",))
    _assert_same_time(post(unknown), post(patient))


# --- Password reset ----------------------------------------------------------------------------------------


def test_password_reset_unknown_and_known_email_look_alike(
    client, personas, slow_relay, mailoutbox, django_capture_on_commit_callbacks
):
    unknown = {"email": "personne.inconnue@example.org"}
    known = {"email": "camille.lefevre@example.org"}

    def post(data):
        return lambda: Client().post(reverse("accounts:password_reset"), data)

    with django_capture_on_commit_callbacks(execute=True):  # what happens after the request, too
        a, b = post(unknown)(), post(known)()
    assert a.status_code == 302 and a["Location"] == reverse("accounts:password_reset_done")
    _assert_same_answer(a, b, typed_a=(), typed_b=())
    # Only the known address gets its link, after the request.
    assert [mail.to for mail in mailoutbox] == [["camille.lefevre@example.org"]]
    _assert_same_time(post(unknown), post(known))


# --- Activation ----------------------------------------------------------------------------------------------

UNKNOWN_NIR = nir_for(sex=1, year=1971, month=7, order=901)
WRONG_CODE = "ABCD-EFGH-JKMN-PQRS"


def test_activation_unknown_nir_and_known_nir_with_a_wrong_code_look_alike(client, informed):
    patient, code = informed()
    assert codes.normalize(WRONG_CODE) != code

    def post(nir):
        data = {"code": WRONG_CODE, "nir": nir, "card_type": patient.vitale_card_type, "serial": SERIAL}
        return lambda: Client().post(reverse("activation:start"), data)

    a, b = post(UNKNOWN_NIR)(), post(patient.nir)()
    assert a.status_code == 200 and "ne permettent pas de vous identifier" in a.content.decode()
    _assert_same_answer(a, b, typed_a=(UNKNOWN_NIR,), typed_b=(patient.nir,))
    _assert_same_time(post(UNKNOWN_NIR), post(patient.nir))


def test_new_code_unknown_nir_and_known_nir_look_alike(client, informed, mailoutbox):
    """A known NIR and card with a date of birth that matches no one on the card answers like an unknown NIR."""
    patient, _ = informed()
    wrong_birth = patient.birth_date.replace(year=patient.birth_date.year - 1).strftime("%d/%m/%Y")

    def post(nir):
        data = {"nir": nir, "serial": SERIAL, "birth_date": wrong_birth}
        return lambda: Client().post(reverse("activation:new_code"), data)

    a, b = post(UNKNOWN_NIR)(), post(patient.nir)()
    assert a.status_code == 200
    _assert_same_answer(a, b, typed_a=(UNKNOWN_NIR,), typed_b=(patient.nir,))
    _assert_same_time(post(UNKNOWN_NIR), post(patient.nir))


def test_new_code_sent_to_a_known_person_looks_like_an_unknown_nir(
    client, informed, mailoutbox, django_capture_on_commit_callbacks
):
    """When everything matches, a code leaves, but later: the request only queues a task after commit, so the
    page and its time are those of an unknown NIR (issuing the code in the request took 6–15 ms more)."""
    patient, _ = informed()
    data = {"serial": SERIAL, "birth_date": patient.birth_date.strftime("%d/%m/%Y")}

    def post(nir):
        return lambda: Client().post(reverse("activation:new_code"), {**data, "nir": nir})

    a, b = post(UNKNOWN_NIR)(), post(patient.nir)()
    assert a.status_code == 200
    _assert_same_answer(a, b, typed_a=(UNKNOWN_NIR,), typed_b=(patient.nir,))
    _assert_same_time(post(UNKNOWN_NIR), post(patient.nir))

    _forget_throttles()  # the throttle counted the requests above
    with django_capture_on_commit_callbacks(execute=True):
        post(patient.nir)()
    assert OutboxMessage.objects.filter(recipient=patient.email).count() == 1  # a code did leave, once
