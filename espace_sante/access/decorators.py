"""View decorators for whole sections: a role that may never enter a section gets 403."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from espace_sante.access import policy

Gate = Callable[..., bool]


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


patient_required = require(policy.can_enter_patient_space)
professional_required = require(policy.can_enter_professional_space, login_url="accounts:pro_login")
closed_space_required = require(policy.can_manage_closed_space)
