"""EncryptedTextField on real PostgreSQL: nothing readable in the column, and an envelope opens only where
it was sealed, with an untouched byte string and a key of the ring."""

from base64 import b32encode
from binascii import unhexlify

import pytest
from django.core.exceptions import ValidationError

from accounts.demo import TOTP_KEYS, seed
from accounts.models import TOTPDevice
from espace_sante.crypto.aead import DecryptionError, envelope_key_id, open_sealed, seal
from espace_sante.crypto.models import CANARY_TEXT, KeyCanary
from tests.crypto.conftest import TOTP_KEY_HEX, make_totp_device, new_key, raw_column, write_raw_column

pytestmark = pytest.mark.django_db

TOTP_TABLE = TOTPDevice._meta.db_table
CONTEXT = "accounts.TOTPDevice.key"


def _plaintext_forms(key_hex: str) -> list[bytes]:
    binary = unhexlify(key_hex)
    return [key_hex.encode(), key_hex.upper().encode(), binary, b32encode(binary)]


def test_the_totp_key_is_not_readable_in_the_database_column(totp_device):
    raw = raw_column(TOTP_TABLE, "key", totp_device.pk)
    for form in _plaintext_forms(TOTP_KEY_HEX):
        assert form not in raw
    assert raw.startswith(b"\x01\x04dev1")
    assert envelope_key_id(raw) == "dev1"
    # 1 version + 1 + 4 key id + 12 nonce + 40 hex characters + 16 tag
    assert len(raw) == 1 + 1 + 4 + 12 + 40 + 16


def test_the_totp_key_round_trips_through_the_orm(totp_device):
    device = TOTPDevice.objects.get(pk=totp_device.pk)
    assert device.key == TOTP_KEY_HEX
    assert device.bin_key == unhexlify(TOTP_KEY_HEX)
    assert TOTPDevice.objects.values_list("key", flat=True).get(pk=totp_device.pk) == TOTP_KEY_HEX


def test_the_same_key_is_sealed_differently_each_time():
    first = make_totp_device("alex.durand")
    second = make_totp_device("sam.durand")
    assert raw_column(TOTP_TABLE, "key", first.pk) != raw_column(TOTP_TABLE, "key", second.pk)


def test_a_saved_again_device_keeps_its_key(totp_device):
    totp_device.name = "téléphone"
    totp_device.save()
    assert TOTPDevice.objects.get(pk=totp_device.pk).key == TOTP_KEY_HEX


def test_no_demo_totp_key_is_readable_in_the_database():
    seed()
    devices = TOTPDevice.objects.select_related("user").filter(user__username__in=TOTP_KEYS)
    assert devices.count() == len(TOTP_KEYS)
    for device in devices:
        raw = raw_column(TOTP_TABLE, "key", device.pk)
        for form in _plaintext_forms(TOTP_KEYS[device.user.username]):
            assert form not in raw
        assert device.key == TOTP_KEYS[device.user.username]


def test_an_envelope_moved_to_another_model_does_not_open(totp_device):
    canary = KeyCanary.objects.get()
    write_raw_column(KeyCanary._meta.db_table, "value", canary.pk, raw_column(TOTP_TABLE, "key", totp_device.pk))
    with pytest.raises(DecryptionError, match="authentication failed"):
        KeyCanary.objects.get(pk=canary.pk)


def test_an_envelope_moved_to_another_column_context_does_not_open(totp_device):
    raw = raw_column(TOTP_TABLE, "key", totp_device.pk)
    assert open_sealed(raw, context=CONTEXT) == TOTP_KEY_HEX.encode()
    for context in ("accounts.TOTPDevice.name", "accounts.EmailOTPDevice.key", "crypto.KeyCanary.value"):
        with pytest.raises(DecryptionError):
            open_sealed(raw, context=context)


def test_the_canary_cannot_be_copied_over_a_totp_key(totp_device):
    canary = KeyCanary.objects.get()
    write_raw_column(TOTP_TABLE, "key", totp_device.pk, raw_column(KeyCanary._meta.db_table, "value", canary.pk))
    with pytest.raises(DecryptionError):
        TOTPDevice.objects.get(pk=totp_device.pk)


def test_a_flipped_byte_in_the_column_fails(totp_device):
    raw = bytearray(raw_column(TOTP_TABLE, "key", totp_device.pk))
    raw[-1] ^= 0x01
    write_raw_column(TOTP_TABLE, "key", totp_device.pk, bytes(raw))
    with pytest.raises(DecryptionError):
        TOTPDevice.objects.get(pk=totp_device.pk)


def test_every_flipped_byte_fails():
    blob = seal(b"0123456789abcdef", context=CONTEXT)
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            altered = bytearray(blob)
            altered[position] ^= bit
            with pytest.raises(DecryptionError):
                open_sealed(bytes(altered), context=CONTEXT)


def test_a_truncated_envelope_fails_with_decryption_error():
    blob = seal(b"0123456789abcdef", context=CONTEXT)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            open_sealed(blob[:length], context=CONTEXT)


def test_an_unknown_key_id_fails(settings, totp_device):
    settings.DATA_ENCRYPTION_KEYS = f"other:{new_key()}"
    stranger = make_totp_device("sam.durand")
    assert envelope_key_id(raw_column(TOTP_TABLE, "key", stranger.pk)) == "other"
    settings.DATA_ENCRYPTION_KEYS = f"dev2:{new_key()}"  # neither "dev1" nor "other"
    for pk in (totp_device.pk, stranger.pk):
        with pytest.raises(DecryptionError, match="no key"):
            TOTPDevice.objects.get(pk=pk)


def test_a_key_with_a_known_id_but_different_bytes_fails(settings, totp_device):
    settings.DATA_ENCRYPTION_KEYS = f"dev1:{new_key()}"
    with pytest.raises(DecryptionError, match="authentication failed"):
        TOTPDevice.objects.get(pk=totp_device.pk)


def test_null_stays_null_and_the_empty_string_round_trips():
    field = KeyCanary._meta.get_field("value")
    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, None) is None
    assert field.from_db_value(field.get_prep_value(""), None, None) == ""
    assert field.from_db_value(field.get_prep_value("é ü ✓"), None, None) == "é ü ✓"


def test_an_unset_field_defaults_to_the_empty_string_and_is_refused_when_required():
    canary = KeyCanary()
    assert canary.value == ""
    with pytest.raises(ValidationError) as error:
        canary.full_clean()
    assert "value" in error.value.message_dict


def test_bytes_are_refused_rather_than_sealed_as_their_repr():
    field = KeyCanary._meta.get_field("value")
    with pytest.raises(TypeError, match="holds text"):
        field.get_prep_value(b"secret")


def test_the_form_field_keeps_the_model_field_label_and_blank():
    form_field = TOTPDevice._meta.get_field("key").formfield()
    assert form_field.label == "Clé"
    assert form_field.required
    assert KeyCanary._meta.get_field("value").formfield(required=False).required is False


def test_the_canary_was_sealed_at_migration():
    assert KeyCanary.objects.get().value == CANARY_TEXT
    assert envelope_key_id(raw_column(KeyCanary._meta.db_table, "value", KeyCanary.objects.get().pk)) == "dev1"
