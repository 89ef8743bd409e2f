"""Login signals: start the absolute session clock, and trace the agents' admin logins.

The portal's login views record their own successes and failures (accounts.services)."""

import time

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from espace_sante.access.actor import Actor
from espace_sante.access.middleware import SESSION_LOGIN_AT, SESSION_SEEN_AT
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


def _is_admin(request) -> bool:
    return request is not None and request.path.startswith("/admin/")


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    request.session[SESSION_LOGIN_AT] = request.session[SESSION_SEEN_AT] = time.time()
    if _is_admin(request):
        record(Action.LOGIN_SUCCEEDED, actor=Actor.for_user(user, verified=True), portal="admin")


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    if _is_admin(request):
        record(
            Action.LOGIN_FAILED, actor=Actor.anonymous(), portal="admin", identifiant=credentials.get("username", "")
        )
