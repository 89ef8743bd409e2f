"""The key ring and the keyed hash: parsing, caching across setting changes, separation by key and purpose."""

import base64

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from espace_sante.crypto.aead import open_sealed, seal
from espace_sante.crypto.hashing import keyed_hash, keyed_hash_matches
from espace_sante.crypto.keys import code_hash_key, keyring, parse_keys
from espace_sante.settings._fixed_keys import DEV_KEYS
from tests.crypto.conftest import new_key


def test_the_first_key_encrypts_and_every_key_decrypts():
    first, second = new_key(), new_key()
    ring = parse_keys(f" new:{first} , old:{second},")
    assert ring.current_id == "new"
    assert ring.current == base64.b64decode(first)
    assert ring.keys == {"new": base64.b64decode(first), "old": base64.b64decode(second)}


def test_the_test_settings_use_the_fixed_dev_key():
    assert keyring().current_id == "dev1"
    assert keyring() is keyring()  # cached
    assert code_hash_key() == base64.b64decode(DEV_KEYS["CODE_HASH_KEY"])


def test_changing_the_setting_clears_the_cached_ring(settings):
    key = new_key()
    settings.DATA_ENCRYPTION_KEYS = f"fresh:{key}"
    assert keyring().current_id == "fresh"
    assert keyring().current == base64.b64decode(key)


def test_leaving_an_override_restores_the_previous_ring():
    before = keyring()
    with override_settings(DATA_ENCRYPTION_KEYS=f"tmp:{new_key()}", CODE_HASH_KEY=new_key()):
        assert keyring().current_id == "tmp"
        assert code_hash_key() != base64.b64decode(DEV_KEYS["CODE_HASH_KEY"])
    assert keyring() == before
    assert code_hash_key() == base64.b64decode(DEV_KEYS["CODE_HASH_KEY"])


def test_a_value_sealed_with_an_old_key_opens_while_that_key_is_still_in_the_ring(settings):
    old = new_key()
    settings.DATA_ENCRYPTION_KEYS = f"old:{old}"
    blob = seal(b"secret", context="tests.Model.field")
    settings.DATA_ENCRYPTION_KEYS = f"new:{new_key()},old:{old}"
    assert open_sealed(blob, context="tests.Model.field") == b"secret"
    assert seal(b"secret", context="tests.Model.field")[2:5] == b"new"


def test_a_malformed_ring_is_refused_when_first_used(settings):
    settings.DATA_ENCRYPTION_KEYS = "k1:not-base64!"
    with pytest.raises(ImproperlyConfigured, match="not valid base64"):
        keyring()


# --- keyed_hash ---------------------------------------------------------------------------------


def test_keyed_hash_is_deterministic():
    assert keyed_hash("123456", purpose="login") == keyed_hash("123456", purpose="login")
    assert len(keyed_hash("123456", purpose="login")) == 64
    assert keyed_hash("123456", purpose="login") != keyed_hash("123457", purpose="login")


def test_keyed_hash_separates_purposes():
    assert keyed_hash("123456", purpose="login") != keyed_hash("123456", purpose="activation")
    # The separator keeps "a" + "b:c" apart from "a:b" + "c".
    assert keyed_hash("b:c", purpose="a") != keyed_hash("c", purpose="a:b")


def test_keyed_hash_depends_on_the_key(settings):
    before = keyed_hash("123456", purpose="login")
    settings.CODE_HASH_KEY = new_key()
    assert keyed_hash("123456", purpose="login") != before


def test_keyed_hash_matches_compares_in_constant_time_helper():
    digest = keyed_hash("123456", purpose="login")
    assert keyed_hash_matches("123456", digest, purpose="login")
    assert not keyed_hash_matches("123456", digest, purpose="activation")
    assert not keyed_hash_matches("654321", digest, purpose="login")
