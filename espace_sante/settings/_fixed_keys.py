"""Fixed, public keys for the demo and the tests only. Never used by base.py."""

import os

# 32 zero-ish bytes would be fine too; these are distinct so a mix-up between them shows.
DEV_KEYS = {
    "SECRET_KEY": "dev-only-secret-key-not-for-production-7c1f2a9e8d",
    "DATA_ENCRYPTION_KEYS": "dev1:ZGV2LWRhdGEta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA=",
    "CODE_HASH_KEY": "ZGV2LWNvZGUtaGFzaC1rZXktMDAwMDAwMDAwMDAwMDAwMDA=",
}


def set_default_keys() -> None:
    for name, value in DEV_KEYS.items():
        os.environ.setdefault(name, value)
