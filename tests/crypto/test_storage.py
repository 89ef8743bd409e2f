"""EncryptedFileSystemStorage: files on disk are sealed, open only under their own name, never served by URL."""

import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile, File

from espace_sante.crypto.aead import FILE_MAGIC, NONCE_SIZE, WRAPPED_KEY_SIZE, DecryptionError, envelope_key_id
from espace_sante.crypto.storage import EncryptedFileSystemStorage, encrypted_storage
from tests.crypto.conftest import new_key

PLAINTEXT = "Compte rendu de consultation : tension 12/8, traitement inchangé.".encode()
HEADER_SIZE = len(FILE_MAGIC) + 1 + len("dev1") + NONCE_SIZE + WRAPPED_KEY_SIZE  # before the body nonce
OVERHEAD = HEADER_SIZE + NONCE_SIZE + 16


@pytest.fixture
def storage() -> EncryptedFileSystemStorage:
    return encrypted_storage()


def test_files_live_under_the_per_test_media_root(settings, storage, tmp_path):
    assert Path(storage.location) == tmp_path / "media" / "chiffre"
    assert Path(storage.location) == Path(settings.MEDIA_ROOT) / "chiffre"


def test_a_str_media_root_works(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "ailleurs")
    assert Path(encrypted_storage().location) == tmp_path / "ailleurs" / "chiffre"


def test_the_file_on_disk_does_not_contain_the_plaintext(storage):
    name = storage.save("dossier/compte-rendu.txt", ContentFile(PLAINTEXT))
    assert name == "dossier/compte-rendu.txt"
    on_disk = Path(storage.path(name)).read_bytes()
    assert on_disk.startswith(FILE_MAGIC + b"\x04dev1")
    assert PLAINTEXT not in on_disk
    assert b"tension" not in on_disk
    assert len(on_disk) == len(PLAINTEXT) + OVERHEAD
    assert envelope_key_id(on_disk) == "dev1"


def test_reading_back_returns_the_plaintext(storage):
    name = storage.save("dossier/compte-rendu.txt", ContentFile(PLAINTEXT))
    with storage.open(name) as handle:
        assert handle.read() == PLAINTEXT


def test_the_same_content_is_sealed_differently_in_two_files(storage):
    first = storage.save("a.txt", ContentFile(PLAINTEXT))
    second = storage.save("a.txt", ContentFile(PLAINTEXT))
    assert first != second
    assert Path(storage.path(first)).read_bytes() != Path(storage.path(second)).read_bytes()
    assert storage.open(second).read() == PLAINTEXT


def test_a_name_taken_between_choosing_it_and_writing_is_resealed_under_the_name_used(storage):
    storage.save("pris.txt", ContentFile(b"first"))
    saved = storage._save("pris.txt", ContentFile(PLAINTEXT))  # what a concurrent writer would hit
    assert saved != "pris.txt"
    assert storage.open(saved).read() == PLAINTEXT
    assert storage.open("pris.txt").read() == b"first"


def test_content_already_read_is_saved_whole(storage):
    upload = ContentFile(PLAINTEXT, name="upload.txt")
    assert upload.read(4) == PLAINTEXT[:4]  # e.g. a form sniffed the file type
    name = storage.save("upload.txt", upload)
    assert storage.open(name).read() == PLAINTEXT


def test_a_real_file_object_and_text_content_are_saved(storage, tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(PLAINTEXT)
    with source.open("rb") as handle:
        name = storage.save("from-disk.bin", File(handle))
    assert storage.open(name).read() == PLAINTEXT
    name = storage.save("texte.txt", ContentFile("tension 12/8, traitement inchangé"))
    assert storage.open(name).read() == "tension 12/8, traitement inchangé".encode()


def test_a_file_moved_to_another_name_does_not_open(storage):
    name = storage.save("dossier/a.txt", ContentFile(PLAINTEXT))
    os.rename(storage.path(name), storage.path("dossier/b.txt"))
    with pytest.raises(DecryptionError):
        storage.open("dossier/b.txt")
    os.makedirs(storage.path("autre"))
    os.rename(storage.path("dossier/b.txt"), storage.path("autre/a.txt"))
    with pytest.raises(DecryptionError):
        storage.open("autre/a.txt")


def test_swapping_the_wrapped_data_key_between_two_files_fails(storage):
    first = storage.save("first.txt", ContentFile(PLAINTEXT))
    second = storage.save("second.txt", ContentFile(b"autre contenu confidentiel"))
    blob_first = Path(storage.path(first)).read_bytes()
    blob_second = Path(storage.path(second)).read_bytes()
    # First's header (its wrapped data key) on second's body, under either name.
    Path(storage.path(second)).write_bytes(blob_first[:HEADER_SIZE] + blob_second[HEADER_SIZE:])
    with pytest.raises(DecryptionError, match="does not belong"):
        storage.open(second)
    Path(storage.path(first)).write_bytes(blob_first[:HEADER_SIZE] + blob_second[HEADER_SIZE:])
    with pytest.raises(DecryptionError, match="altered"):
        storage.open(first)


def test_a_flipped_byte_or_a_truncation_fails(storage):
    name = storage.save("x.txt", ContentFile(PLAINTEXT))
    path = Path(storage.path(name))
    blob = path.read_bytes()
    for position in (0, len(FILE_MAGIC), HEADER_SIZE - 1, HEADER_SIZE + 1, len(blob) - 1):
        altered = bytearray(blob)
        altered[position] ^= 0x01
        path.write_bytes(bytes(altered))
        with pytest.raises(DecryptionError):
            storage.open(name)
    for length in range(len(blob)):
        path.write_bytes(blob[:length])
        with pytest.raises(DecryptionError):
            storage.open(name)


def test_a_file_sealed_with_a_key_no_longer_in_the_ring_fails(settings, storage):
    settings.DATA_ENCRYPTION_KEYS = f"gone:{new_key()}"
    name = storage.save("x.txt", ContentFile(PLAINTEXT))
    settings.DATA_ENCRYPTION_KEYS = f"dev1:{new_key()}"
    with pytest.raises(DecryptionError, match="no key 'gone'"):
        storage.open(name)


def test_encrypted_files_are_never_served_by_url(storage):
    name = storage.save("x.txt", ContentFile(PLAINTEXT))
    with pytest.raises(NotImplementedError):
        storage.url(name)


def test_encrypted_files_are_written_only_through_save(storage):
    name = storage.save("x.txt", ContentFile(PLAINTEXT))
    for mode in ("wb", "ab", "r+b"):
        with pytest.raises(ValueError, match="through save"):
            storage.open(name, mode)


def test_a_five_megabyte_file_round_trips(storage):
    payload = os.urandom(5 * 1024 * 1024)
    name = storage.save("imagerie/irm.dcm", ContentFile(payload))
    assert storage.open(name).read() == payload
    assert os.path.getsize(storage.path(name)) == len(payload) + OVERHEAD
