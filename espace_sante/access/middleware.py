import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect

from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.lib.redirects import safe_redirect_url

SESSION_ACTING_FOR = "acting_for"
SESSION_LOGIN_AT = "login_at"
SESSION_EMERGENCIES = "emergency_accesses"
SESSION_SEEN_AT = "seen_at"


class ActorMiddleware:
    """Set request.actor; end sessions past their absolute lifetime or without a verified second factor.

    Activity pushes the idle expiry back, by saving the session at most every SESSION_REFRESH_SECONDS.

    Portal logins only happen after the second factor, so an authenticated but unverified session can
    only be stale or forged: it is ended rather than trusted.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            request.actor = Actor.anonymous()
            return self.get_response(request)

        verified = user.is_verified()
        login_at = request.session.get(SESSION_LOGIN_AT)
        expired = (
            login_at is None
            or time.time() - login_at > settings.SESSION_ABSOLUTE_SECONDS
            or (user.sessions_valid_after is not None and login_at < user.sessions_valid_after.timestamp())
        )
        if not verified or expired:
            actor = Actor.for_user(user, verified=False)
            record(Action.SESSION_EXPIRED, actor=actor, reason="absolute" if verified else "unverified")
            logout(request)
            messages.info(request, "Votre session a expiré. Merci de vous reconnecter.")
            request.actor = Actor.anonymous()
            # Back to the same address: login_required then sends to the right portal's login page. A path
            # such as //evil.example/ would be another site as a Location: then the home page instead.
            return redirect(safe_redirect_url(request, request.get_full_path(), fallback="home"))

        now = time.time()
        if now - request.session.get(SESSION_SEEN_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
            request.session[SESSION_SEEN_AT] = now  # saved with a new idle expiry
        request.actor = Actor.for_user(
            user,
            verified=True,
            acting_for_id=request.session.get(SESSION_ACTING_FOR),
            emergency_ids=tuple(request.session.get(SESSION_EMERGENCIES, ())),
        )
        return self.get_response(request)
