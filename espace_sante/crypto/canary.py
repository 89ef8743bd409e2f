"""The canary row that lets start-up tell whether the configured keys can read the stored data."""

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from espace_sante.crypto.aead import DecryptionError


def ensure_canary(**kwargs) -> None:
    """post_migrate: seal the canary once, with the current key."""
    from espace_sante.crypto.models import CANARY_TEXT, KeyCanary

    using = kwargs.get("using", "default")
    # post_migrate is sent for this app after every migrate, including `migrate crypto zero` or one that
    # stopped before this app's first migration: without the table there is nothing to seal.
    if KeyCanary._meta.db_table not in connections[using].introspection.table_names():
        return
    if not KeyCanary.objects.using(using).exists():
        KeyCanary.objects.using(using).create(value=CANARY_TEXT)


def canary_problem(using: str = "default") -> str | None:
    """A French-free operator message when the canary cannot be read with the ring, else None."""
    from espace_sante.crypto.models import CANARY_TEXT, KeyCanary

    try:
        values = list(KeyCanary.objects.using(using).values_list("value", flat=True)[:1])
    except DecryptionError:
        return "DATA_ENCRYPTION_KEYS cannot decrypt the stored canary: wrong or missing key"
    except ImproperlyConfigured:
        return None  # a malformed ring is crypto.E001's to report; a crash here would hide it
    except DatabaseError:
        return None  # not migrated yet: nothing encrypted to protect
    if values and values[0] != CANARY_TEXT:
        return "the encryption canary decrypts to an unexpected value"
    return None
