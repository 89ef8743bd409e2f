"""`manage.py rotate_keys`: re-encrypt every field and re-wrap every file with the first key, so the old key
can then be removed; a second run finds nothing to do."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from accounts.models import TOTPDevice
from espace_sante.crypto.aead import FILE_MAGIC, NONCE_SIZE, WRAPPED_KEY_SIZE, DecryptionError, envelope_key_id
from espace_sante.crypto.checks import check_keys_open_canary
from espace_sante.crypto.models import CANARY_TEXT, KeyCanary
from espace_sante.crypto.rotation import encrypted_fields
from espace_sante.crypto.storage import encrypted_storage
from tests.crypto.conftest import TOTP_KEY_HEX, make_totp_device, new_key, raw_column, write_raw_column

pytestmark = pytest.mark.django_db

OLD, NEW = new_key(), new_key()
FILES = {"dossier/ordonnance.pdf": b"%PDF-1.7 ordonnance", "imagerie/radio.png": b"\x89PNG radio du genou"}


def rotate() -> str:
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    return out.getvalue()


@pytest.fixture
def sealed_with_old(settings):
    """Everything in the database and under chiffre/ sealed with "old" only."""
    settings.DATA_ENCRYPTION_KEYS = f"old:{OLD}"
    KeyCanary.objects.update(value=CANARY_TEXT)  # the migration sealed it with the test key: reseal with "old"
    devices = [make_totp_device("alex.durand"), make_totp_device("sam.durand", key_hex="ab" * 20)]
    storage = encrypted_storage()
    names = [storage.save(name, ContentFile(content)) for name, content in FILES.items()]
    return devices, names


def _key_ids(devices, names) -> set[str]:
    rows = [raw_column(TOTPDevice._meta.db_table, "key", device.pk) for device in devices]
    rows.append(raw_column(KeyCanary._meta.db_table, "value", KeyCanary.objects.get().pk))
    storage = encrypted_storage()
    files = [Path(storage.path(name)).read_bytes() for name in names]
    return {envelope_key_id(blob) for blob in rows + files}


def _assert_everything_opens(devices, names) -> None:
    assert TOTPDevice.objects.get(pk=devices[0].pk).key == TOTP_KEY_HEX
    assert TOTPDevice.objects.get(pk=devices[1].pk).key == "ab" * 20
    assert KeyCanary.objects.get().value == CANARY_TEXT
    storage = encrypted_storage()
    for name, content in zip(names, FILES.values(), strict=True):
        assert storage.open(name).read() == content
    assert check_keys_open_canary(None, databases=["default"]) == []


def test_without_rotation_removing_the_old_key_loses_the_data(settings, sealed_with_old):
    devices, names = sealed_with_old
    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW}"
    with pytest.raises(DecryptionError):
        TOTPDevice.objects.get(pk=devices[0].pk)
    with pytest.raises(DecryptionError):
        encrypted_storage().open(names[0])
    assert [error.id for error in check_keys_open_canary(None, databases=["default"])] == ["crypto.E003"]


def test_rotation_reencrypts_fields_and_rewraps_files(settings, sealed_with_old):
    devices, names = sealed_with_old
    assert _key_ids(devices, names) == {"old"}
    storage = encrypted_storage()
    bodies_before = [
        Path(storage.path(name)).read_bytes()[-len(content) - 16 - NONCE_SIZE :]
        for name, content in zip(names, FILES.values(), strict=True)
    ]

    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    output = rotate()

    assert "key new: 3 encrypted values re-encrypted, 2 files re-wrapped" in output  # 2 devices + the canary
    assert _key_ids(devices, names) == {"new"}
    # Only the header changed: the body, sealed by each file's own data key, was not rewritten.
    for name, body in zip(names, bodies_before, strict=True):
        blob = Path(storage.path(name)).read_bytes()
        assert blob.startswith(FILE_MAGIC + b"\x03new")
        assert blob[len(FILE_MAGIC) + 4 + NONCE_SIZE + WRAPPED_KEY_SIZE :] == body
    assert not list(Path(storage.location).rglob("*.rotating"))

    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW}"
    _assert_everything_opens(devices, names)


def test_a_second_run_rotates_nothing(settings, sealed_with_old):
    devices, names = sealed_with_old
    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"
    rotate()
    raw_after_first = raw_column(TOTPDevice._meta.db_table, "key", devices[0].pk)

    output = rotate()

    assert "key new: 0 encrypted values re-encrypted, 0 files re-wrapped" in output
    assert raw_column(TOTPDevice._meta.db_table, "key", devices[0].pk) == raw_after_first
    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW}"
    assert "0 encrypted values re-encrypted, 0 files re-wrapped" in rotate()
    _assert_everything_opens(devices, names)


def test_rotation_with_nothing_stale_under_the_test_key_is_a_no_op(totp_device):
    assert "key dev1: 0 encrypted values re-encrypted, 0 files re-wrapped" in rotate()


def test_rotation_reports_what_it_cannot_open_and_rotates_the_rest(settings, sealed_with_old):
    devices, names = sealed_with_old
    storage = encrypted_storage()
    Path(storage.path("stray.txt")).write_bytes(b"not an encrypted file")
    settings.DATA_ENCRYPTION_KEYS = f"lost:{new_key()}"
    unreadable = make_totp_device("lea.durand")
    not_an_envelope = make_totp_device("noe.durand")
    write_raw_column(TOTPDevice._meta.db_table, "key", not_an_envelope.pk, b"")
    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW},old:{OLD}"

    out = StringIO()
    with pytest.raises(CommandError, match="3 values or files could not be opened"):
        call_command("rotate_keys", stdout=out)

    assert "key new: 3 encrypted values re-encrypted, 2 files re-wrapped" in out.getvalue()

    settings.DATA_ENCRYPTION_KEYS = f"new:{NEW}"
    _assert_everything_opens(devices, names)
    assert envelope_key_id(raw_column(TOTPDevice._meta.db_table, "key", unreadable.pk)) == "lost"


def test_rotation_finds_every_encrypted_column():
    found = [f"{model._meta.label}.{field.name}" for model, field in encrypted_fields()]
    assert {"accounts.TOTPDevice.key", "crypto.KeyCanary.value"} <= set(found)
    assert len(found) == len(set(found))  # each column once
