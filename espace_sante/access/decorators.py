"""View decorators for whole sections: a role that may never enter a section gets 403.

`require_recent_authentication` guards dangerous changes (second factor, contacts, closing the space): the
person must have re-entered their password and a fresh second factor less than ten minutes ago.
"""

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from espace_sante.access import policy

Gate = Callable[..., bool]

# Unix time of the last successful re-authentication in this session (set by accounts.services).
SESSION_REAUTHENTICATED_AT = "reauthenticated_at"
RECENT_AUTHENTICATION = timedelta(minutes=10)


def require(gate: Gate, *, login_url: str = "accounts:login"):
    """Anonymous visitors are sent to `login_url`; signed-in people who fail `gate` get 403,
    except a patient whose own space is closed, who is sent to the page that lets them reopen it."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not gate(request.actor):
                if policy.can_manage_closed_space(request.actor):
                    return redirect("activation:closed")
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped, login_url=login_url)

    return decorator


def recently_authenticated(session, *, max_age: timedelta = RECENT_AUTHENTICATION) -> bool:
    """True when this session re-authenticated less than `max_age` ago (a clock going back does not count)."""
    at = session.get(SESSION_REAUTHENTICATED_AT)
    if not isinstance(at, int | float):
        return False
    return 0 <= time.time() - at <= max_age.total_seconds()


def require_recent_authentication(
    view=None, *, max_age: timedelta = RECENT_AUTHENTICATION, reauth_url: str = "accounts:reauthenticate"
):
    """Send people who have not confirmed their identity within `max_age` to `reauth_url`, then back here.

    Put it under a role decorator (`@patient_required`), which answers anonymous visitors and other roles
    first. A POST that arrives too late is not carried out: the person confirms, then submits again.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not recently_authenticated(request.session, max_age=max_age):
                return redirect_to_login(request.get_full_path(), reauth_url)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator if view is None else decorator(view)


patient_required = require(policy.can_enter_patient_space)
professional_required = require(policy.can_enter_professional_space, login_url="accounts:pro_login")
closed_space_required = require(policy.can_manage_closed_space)
