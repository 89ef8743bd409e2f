"""The client's address, found once per request: `request.client_ip`.

The only code that reads REMOTE_ADDR or X-Forwarded-For (tests/test_consistency.py checks it). Throttles,
audit rows and everything else that needs the client's address use `request.client_ip`.

Behind reverse proxies REMOTE_ADDR is the nearest proxy's address, the same for everyone: throttling on it
would let 31 failed logins lock every person out. Each proxy appends the address it received the request
from to X-Forwarded-For (nginx `$proxy_add_x_forwarded_for`), after whatever the client wrote there. With
TRUSTED_PROXY_HOPS = n proxies of ours in front, the client is the n-th entry from the right: the one our
outermost proxy appended. Entries further left were written by the client and are never believed. With
TRUSTED_PROXY_HOPS = 0 (the default) the header is ignored and REMOTE_ADDR is the client.
"""

import ipaddress

from django.conf import settings


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip_from(meta: dict, hops: int) -> str:
    """The client's address from a WSGI environ, trusting `hops` proxies in front; "" when unknown."""
    remote = _valid(meta.get("REMOTE_ADDR") or "") or ""
    if hops <= 0:
        return remote
    entries = [entry for entry in (meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if entry.strip()]
    # The last `hops` entries were appended by our proxies, the leftmost of them by the outermost one. Fewer
    # entries than hops: the request skipped a proxy (a health check on loopback); what remains is still
    # ours. An entry that is not an address (a proxy misconfigured) yields to the next, nearer proxy's.
    for entry in entries[-hops:]:
        if address := _valid(entry):
            return address
    return remote


class ClientAddressMiddleware:
    """Set `request.client_ip` before anything else runs (first in MIDDLEWARE)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.client_ip = client_ip_from(request.META, settings.TRUSTED_PROXY_HOPS)
        return self.get_response(request)
