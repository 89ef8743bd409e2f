"""System checks: malformed keys (E001, E002) and a ring that cannot open the stored canary (E003)."""

import base64
import os

import pytest
from django.core import checks
from django.db import connection

from espace_sante.crypto.canary import ensure_canary
from espace_sante.crypto.checks import check_key_format, check_keys_open_canary
from espace_sante.crypto.models import CANARY_TEXT, KeyCanary
from tests.crypto.conftest import new_key

KEY = new_key()


def _ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_the_test_keys_pass_every_check(db):
    assert check_key_format(None) == []
    assert check_keys_open_canary(None, databases=["default"]) == []
    ids = _ids(checks.run_checks(tags=[checks.Tags.security]))
    assert not [check_id for check_id in ids if check_id.startswith("crypto.")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(f"k1:{base64.b64encode(os.urandom(16)).decode()}", "32 bytes", id="16-byte key"),
        pytest.param(f"k1:{base64.b64encode(os.urandom(33)).decode()}", "32 bytes", id="33-byte key"),
        pytest.param("k1:", "32 bytes", id="empty key"),
        pytest.param("k1:pas du base64 !", "not valid base64", id="bad base64"),
        pytest.param(f"k1:{KEY[:-2]}", "not valid base64", id="truncated base64"),
        pytest.param(f"k1:{KEY},k1:{new_key()}", "appears twice", id="duplicate id"),
        pytest.param("", "holds no key", id="empty"),
        pytest.param(" , ", "holds no key", id="only separators"),
        pytest.param(KEY, "id:base64key", id="no id"),
        pytest.param(f":{KEY}", "id:base64key", id="empty id"),
        pytest.param(f"key-1:{KEY}", "id:base64key", id="id with punctuation"),
        pytest.param(f"clé1:{KEY}", "id:base64key", id="id not ascii"),
        pytest.param(f"{'k' * 17}:{KEY}", "id:base64key", id="id too long"),
    ],
)
def test_malformed_data_keys_give_e001(settings, raw, reason):
    settings.DATA_ENCRYPTION_KEYS = raw
    errors = check_key_format(None)
    assert _ids(errors) == ["crypto.E001"]
    assert reason in errors[0].msg
    assert "crypto.E001" in _ids(checks.run_checks(tags=[checks.Tags.security]))


def test_a_missing_data_key_setting_gives_e001(settings):
    settings.DATA_ENCRYPTION_KEYS = None
    assert _ids(check_key_format(None)) == ["crypto.E001"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("pas du base64 !", id="bad base64"),
        pytest.param(base64.b64encode(os.urandom(16)).decode(), id="too short"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_bad_code_hash_key_gives_e002(settings, raw):
    settings.CODE_HASH_KEY = raw
    assert _ids(check_key_format(None)) == ["crypto.E002"]


def test_both_bad_give_both_errors(settings):
    settings.DATA_ENCRYPTION_KEYS = "k1:x"
    settings.CODE_HASH_KEY = "x"
    assert _ids(check_key_format(None)) == ["crypto.E001", "crypto.E002"]


@pytest.mark.django_db
def test_a_ring_without_the_key_that_sealed_the_canary_gives_e003(settings):
    settings.DATA_ENCRYPTION_KEYS = f"new:{KEY}"
    errors = check_keys_open_canary(None, databases=["default"])
    assert _ids(errors) == ["crypto.E003"]
    assert "cannot decrypt the stored canary" in errors[0].msg
    assert errors[0].hint


@pytest.mark.django_db
def test_a_same_id_with_other_key_bytes_gives_e003(settings):
    settings.DATA_ENCRYPTION_KEYS = f"dev1:{KEY}"
    assert _ids(check_keys_open_canary(None, databases=["default"])) == ["crypto.E003"]


@pytest.mark.django_db
def test_the_old_key_kept_behind_a_new_one_still_opens_the_canary(settings):
    settings.DATA_ENCRYPTION_KEYS = f"new:{KEY},{os.environ['DATA_ENCRYPTION_KEYS']}"
    assert check_keys_open_canary(None, databases=["default"]) == []


@pytest.mark.django_db
def test_a_canary_with_an_unexpected_value_gives_e003():
    KeyCanary.objects.update(value="something else")
    errors = check_keys_open_canary(None, databases=["default"])
    assert _ids(errors) == ["crypto.E003"]
    assert "unexpected value" in errors[0].msg


@pytest.mark.django_db
def test_a_malformed_ring_is_left_to_e001_by_the_database_check(settings):
    settings.DATA_ENCRYPTION_KEYS = "k1:x"
    assert check_keys_open_canary(None, databases=["default"]) == []


def test_the_database_check_does_nothing_without_databases():
    assert check_keys_open_canary(None) == []
    assert check_keys_open_canary(None, databases=None) == []


@pytest.mark.django_db
def test_the_database_check_is_registered(settings):
    settings.DATA_ENCRYPTION_KEYS = f"new:{KEY}"
    errors = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert "crypto.E003" in _ids(errors)


@pytest.mark.django_db
def test_post_migrate_seals_a_missing_canary_once(settings):
    KeyCanary.objects.all().delete()
    settings.DATA_ENCRYPTION_KEYS = f"new:{KEY}"
    ensure_canary(using="default")
    ensure_canary(using="default")
    assert KeyCanary.objects.get().value == CANARY_TEXT
    assert check_keys_open_canary(None, databases=["default"]) == []


@pytest.mark.django_db
def test_post_migrate_without_the_canary_table_does_nothing():
    with connection.cursor() as cursor:  # DDL is transactional in PostgreSQL: the test rolls it back
        cursor.execute(f'ALTER TABLE "{KeyCanary._meta.db_table}" RENAME TO "crypto_keycanary_away"')
    ensure_canary(using="default")
