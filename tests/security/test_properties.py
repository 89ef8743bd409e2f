"""Property-based tests (Hypothesis): the normalisers, the throttle, and escaping of anything a person types."""

import string
import threading
import time

import pytest
from django.template import Context, Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.fr import nir as nir_check

from activation import codes
from activation.forms import NIR_ERROR, clean_nir_value
from espace_sante.lib.throttle import Throttle

CROCKFORD = st.text(alphabet=codes.ALPHABET, min_size=16, max_size=16)


@given(CROCKFORD, st.sampled_from(["upper", "lower"]), st.booleans())
def test_any_way_of_typing_a_code_gives_the_code_back(code, case, dashes):
    typed = codes.display(code) if dashes else " ".join(code[i : i + 4] for i in range(0, 16, 4))
    typed = typed.lower() if case == "lower" else typed
    typed = typed.replace("0", "O") if "0" in code else typed
    assert codes.normalize(typed) == code


@given(st.binary(min_size=10, max_size=10 * 40).filter(lambda raw: len(raw) % 10 == 0))
def test_codes_made_in_bulk_are_exactly_the_random_bits_in_crockford_base_32(raw):
    """generate_many cuts one random read into codes: each code must carry its 80 bits, nothing else."""
    from unittest import mock

    with mock.patch("activation.codes.secrets.token_bytes", return_value=raw) as token_bytes:
        made = codes.generate_many(len(raw) // 10)
    token_bytes.assert_called_once_with(len(raw))
    for index, code in enumerate(made):
        assert codes.normalize(code) == code
        value = 0
        for char in code:
            value = value * 32 + codes.ALPHABET.index(char)
        assert value.to_bytes(10, "big") == raw[10 * index : 10 * index + 10]


def test_codes_made_in_bulk_are_all_different():
    made = codes.generate_many(20000)
    assert len(set(made)) == len(made) == 20000
    assert set("".join(made)) == set(codes.ALPHABET)  # every symbol used, no other


@given(st.text(max_size=40))
def test_normalize_never_accepts_a_wrong_length_or_alphabet(raw):
    result = codes.normalize(raw)
    if result is not None:
        assert len(result) == 16 and set(result) <= set(codes.ALPHABET)


@given(st.integers(min_value=10**12, max_value=2 * 10**12 - 1))
def test_nir_with_its_key_is_accepted_and_a_wrong_key_is_refused(number):
    base = str(number)
    key = 97 - number % 97
    good = f"{base}{key:02d}"
    assert clean_nir_value(good) == good
    wrong = f"{base}{(key % 97) + 1:02d}"
    if not nir_check.is_valid(wrong):
        with pytest.raises(Exception, match=NIR_ERROR[:20]):
            clean_nir_value(wrong)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(min_value=1, max_value=6),
    st.integers(min_value=1, max_value=20),
    st.text(string.ascii_letters, min_size=3, max_size=12),
)
def test_throttle_never_admits_more_than_its_free_attempts(free, attempts, subject):
    throttle = Throttle(f"prop-{subject}", free_attempts=free, base_delay_seconds=60, max_delay_seconds=3600)
    throttle.reset(subject)
    admitted = sum(throttle.admit(subject) == 0 for _ in range(attempts))
    assert admitted == min(free, attempts)
    if attempts > free:
        assert 0 < throttle.admit(subject) <= 60  # the next one is told when to come back
    throttle.reset(subject)


@pytest.mark.django_db
@pytest.mark.parametrize("free", [1, 5, 10])
def test_a_burst_of_concurrent_attempts_never_gets_more_than_the_limit_through(free):
    """40 threads released at once on the same subject: exactly `free` are admitted, not one more."""
    throttle = Throttle(f"prop-burst-{free}", free_attempts=free, base_delay_seconds=60)
    throttle.reset("x")
    start, results = threading.Barrier(40), []

    def attempt() -> None:
        start.wait()
        results.append(throttle.admit("x"))

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(0) == free
    assert all(0 < wait <= 60 for wait in results if wait)
    throttle.reset("x")


@pytest.mark.django_db
def test_after_the_delay_one_more_attempt_is_admitted_and_the_next_delay_doubles():
    throttle = Throttle("prop-delays", free_attempts=2, base_delay_seconds=1, max_delay_seconds=8)
    throttle.reset("x")
    assert [throttle.admit("x") for _ in range(3)] == [0, 0, 1]
    time.sleep(1.1)
    assert throttle.admit("x") == 0  # the slot reopened
    assert throttle.admit("x") == 2  # and the next one waits twice as long
    throttle.reset("x")
    assert throttle.admit("x") == 0  # a success (reset) starts again from zero


@pytest.mark.django_db
def test_a_refunded_attempt_does_not_count():
    throttle = Throttle("prop-refund", free_attempts=3, base_delay_seconds=60)
    throttle.reset("x")
    for _ in range(10):
        assert throttle.admit("x") == 0
        throttle.refund("x")  # ten right passwords from one office address
    throttle.reset("x")


TEMPLATE = Template("<p>{{ name }}</p><h1>{{ title }}</h1>")


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=200))
def test_anything_typed_is_escaped_when_shown(name, title):
    html = TEMPLATE.render(Context({"name": name, "title": title}))
    assert "<script" not in html.lower().replace("&lt;script", "")
    for dangerous in ("<", ">", '"'):
        if dangerous in name or dangerous in title:
            assert html.count(dangerous) == html.count(dangerous) and html.count("<") == 4
