"""Typed readers for the environment. Required secrets have no default: production refuses to start."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {raw!r}")
    return raw == "true"


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str) -> str:
    """Read NAME, or the file named by NAME_FILE (container secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    try:
        value = os.environ[name]
    except KeyError:
        raise ImproperlyConfigured(f"{name} is required") from None
    if not value:
        raise ImproperlyConfigured(f"{name} is required")
    return value


def rsa_private_key_pem(value: str, name: str) -> str:
    """A PEM RSA private key, given as is (a mounted file) or as one line of base64 of the PEM (an .env
    value, where values are single lines). Refuses to start on anything else."""
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = value.strip()
    if not pem.startswith("-----BEGIN"):
        try:
            pem = base64.b64decode(pem, validate=True).decode("ascii").strip()
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{name} must be a PEM private key, or the base64 of one") from None
    try:
        key = load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(f"{name} must be an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise ImproperlyConfigured(f"{name} must be an RSA key of 2048 bits or more")
    return pem
