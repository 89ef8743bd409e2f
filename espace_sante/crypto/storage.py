"""A file storage that encrypts every file with its own AES-256-GCM data key (see aead.py)."""

import contextlib
import os
from collections.abc import Iterator

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property

from espace_sante.crypto.aead import open_file, seal_file


def _read_all(content) -> bytes:
    """The whole content, even if a validator already read part of it (chunks() starts from the top)."""
    return b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in content.chunks())


class EncryptedFileSystemStorage(FileSystemStorage):
    """Stores files under MEDIA_ROOT/chiffre/; the name is the associated data of each envelope."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, os.path.join(settings.MEDIA_ROOT, "chiffre"))

    def _save(self, name: str, content) -> str:
        plaintext = _read_all(content)
        saved = super()._save(name, ContentFile(seal_file(plaintext, name=name)))
        if saved != name:  # a concurrent writer took the name: reseal under the name actually used
            with open(self.path(saved), "wb") as handle:
                handle.write(seal_file(plaintext, name=saved))
        return saved

    def _open(self, name: str, mode: str = "rb"):
        if any(flag in mode for flag in "wax+"):
            raise ValueError("encrypted files are written through save() only")
        with open(self.path(name), "rb") as handle:
            blob = handle.read()
        return ContentFile(open_file(blob, name=name), name=name)

    def url(self, name):
        raise NotImplementedError("encrypted files are served through the access policy, never by URL")


def encrypted_storage() -> EncryptedFileSystemStorage:
    return EncryptedFileSystemStorage()


@contextlib.contextmanager
def files_removed_on_failure() -> Iterator[list[str]]:
    """Names appended to the yielded list are deleted if the block raises: the rows naming them were rolled
    back (a failed check, a dropped database connection), so no encrypted file is left without its row."""
    saved: list[str] = []
    try:
        yield saved
    except BaseException:
        storage = encrypted_storage()
        for name in saved:
            with contextlib.suppress(OSError):
                storage.delete(name)
        raise
