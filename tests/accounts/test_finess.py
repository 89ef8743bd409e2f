"""FINESS numbers: 9 characters, the département first (2A/2B for Corsica), a Luhn check digit last."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from accounts.validators import finess_is_valid, validate_finess


@pytest.mark.parametrize("finess", ["310781406", "750712184", "130786049", "690781810"])
def test_real_establishments_numbers_are_valid(finess):
    validate_finess(finess)


@pytest.mark.parametrize("finess", ["310781405", "31078140", "3107814060", "31078140A", "", "2C0000000", " 310781406"])
def test_wrong_numbers_are_refused_with_a_french_message(finess):
    with pytest.raises(ValidationError) as raised:
        validate_finess(finess)
    assert "numéro FINESS n’est pas valide" in raised.value.messages[0]


def test_corsica():
    body = "000001"
    key = luhn.calc_check_digit("20" + body)
    assert finess_is_valid(f"2A{body}{key}") and finess_is_valid(f"2B{body}{key}")
    assert not finess_is_valid(f"2A{body}{(int(key) + 1) % 10}")


@given(st.from_regex(r"\A[0-9]{8}\Z"))
def test_the_check_digit_is_luhn(body):
    key = luhn.calc_check_digit(body)
    assert finess_is_valid(body + key)
    for wrong in set("0123456789") - {key}:
        assert not finess_is_valid(body + wrong)
