"""Fixed, public keys for the demo and the tests only, and a throw-away RSA key for their ID tokens
(generated once per process, unless given). Never used by base.py."""

import os

# 32 zero-ish bytes would be fine too; these are distinct so a mix-up between them shows.
DEV_KEYS = {
    "SECRET_KEY": "dev-only-secret-key-not-for-production-7c1f2a9e8d",
    "DATA_ENCRYPTION_KEYS": "dev1:ZGV2LWRhdGEta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA=",
    "CODE_HASH_KEY": "ZGV2LWNvZGUtaGFzaC1rZXktMDAwMDAwMDAwMDAwMDAwMDA=",
}


def throwaway_rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def set_default_keys() -> None:
    for name, value in DEV_KEYS.items():
        os.environ.setdefault(name, value)
    # Set in the environment, so that the processes a test starts (workers, servers) sign with the same key.
    if not os.environ.get("OIDC_RSA_PRIVATE_KEY") and not os.environ.get("OIDC_RSA_PRIVATE_KEY_FILE"):
        os.environ["OIDC_RSA_PRIVATE_KEY"] = throwaway_rsa_key()
