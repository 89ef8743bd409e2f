"""System checks: refuse to start with missing, malformed or wrong keys."""

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from espace_sante.crypto.canary import canary_problem
from espace_sante.crypto.keys import code_hash_key, keyring


@register(Tags.security)
def check_key_format(app_configs, **kwargs) -> list[Error]:
    errors = []
    for loader, check_id in ((keyring, "crypto.E001"), (code_hash_key, "crypto.E002")):
        try:
            loader()
        except ImproperlyConfigured as exc:
            errors.append(Error(str(exc), id=check_id))
    return errors


@register(Tags.database)
def check_keys_open_canary(app_configs, databases=None, **kwargs) -> list[Error]:
    errors = []
    for alias in databases or []:
        if problem := canary_problem(alias):
            errors.append(Error(problem, hint="Restore the key that sealed the data.", id="crypto.E003"))
    return errors
