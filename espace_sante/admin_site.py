"""The agents' back-office: Django's admin behind a password and a mandatory authenticator code.

Every ModelAdmin registered here filters only through what it declares (`DeclaredLookupsAdmin`): Django's
admin otherwise accepts any `?field__lookup=value` on a local field or a one-step relation, which lets an
agent probe hidden fields (a card serial digit by digit) or learn who has medical data
(`?documents__isnull=False`). The site mixes the rule into every admin class it registers, Django's and
third-party ones included, so a new admin or a new field cannot reopen it.
"""

from django import forms
from django.contrib.admin import ModelAdmin, SimpleListFilter
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django_otp.admin import OTPAdminSite

from accounts.enums import UserKind
from accounts.models import TOTPDevice
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record

AGENT_LOGIN_ERROR = "Identifiant, mot de passe ou code incorrect."


class AgentAuthenticationForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label="Code de l’application d’authentification",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    error_messages = {**AdminAuthenticationForm.error_messages, "invalid_login": AGENT_LOGIN_ERROR}

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.kind != UserKind.AGENT:
            raise forms.ValidationError(AGENT_LOGIN_ERROR, code="invalid_login")

    def clean(self):
        # The portal's password throttle (same keys: client address, then identifiant), taken before
        # the password is hashed: wrong passwords slow down here too, and a refused one costs no Argon2.
        from accounts.services import password_attempt_admit, password_attempt_succeeded, password_throttle_message

        identifiant = (self.cleaned_data.get("username") or "").strip().lower()
        if identifiant:
            wait = password_attempt_admit(self.request, identifiant)
            if wait:
                record(Action.LOGIN_THROTTLED, actor=Actor.anonymous(), portal="admin", identifiant=identifiant)
                raise forms.ValidationError(password_throttle_message(wait), code="throttled")
        cleaned = super().clean()  # the password, then confirm_login_allowed: raises when either fails
        password_attempt_succeeded(self.request, identifiant)
        user = self.get_user()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        token = cleaned.get("otp_token", "")
        allowed = device is not None and device.verify_is_allowed()[0]
        if not allowed or not device.verify_token(token):
            record(Action.OTP_FAILED, actor=Actor.for_user(user, verified=False), portal="admin")
            raise forms.ValidationError(AGENT_LOGIN_ERROR, code="invalid_login")
        user.otp_device = device  # django-otp's login signal persists it in the session
        return cleaned


class DeclaredLookupsChangeList(ChangeList):
    """A changelist that filters through its declared list filters and their offered values only.

    Whatever query parameter is left once the declared filters took theirs (Django would apply it to the
    queryset as a lookup) is refused with a 400, and so is a value a declared filter does not offer.
    """

    def get_filters(self, request):
        filter_specs, has_filters, remaining, may_have_duplicates, has_active_filters = super().get_filters(request)
        allowed = {f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"} if self.date_hierarchy else set()
        undeclared = sorted(set(remaining) - allowed)
        if undeclared:
            raise DisallowedModelAdminLookup(f"Filtering by {', '.join(undeclared)} is not declared")
        for spec in filter_specs:
            if isinstance(spec, SimpleListFilter) and spec.value() is not None:
                if spec.value() not in {str(value) for value, _ in spec.lookup_choices}:
                    raise DisallowedModelAdminLookup(f"{spec.parameter_name}={spec.value()!r} is not offered")
        return filter_specs, has_filters, remaining, may_have_duplicates, has_active_filters


class DeclaredLookupsAdmin:
    """Mixed into every admin class of the agents' site (AgentAdminSite.register).

    - `lookup_allowed` accepts only the parameters of the declared `list_filter` (Django's default accepts
      any lookup on a local field or a direct relation);
    - the changelist refuses anything else (DeclaredLookupsChangeList);
    - `search_required = True`: nothing is listed until a search is made (people are found, not browsed).
    """

    search_required = False

    def get_changelist(self, request, **kwargs):
        base = super().get_changelist(request, **kwargs)
        if issubclass(base, DeclaredLookupsChangeList):
            return base
        if base is ChangeList:
            return DeclaredLookupsChangeList
        return type(f"Declared{base.__name__}", (DeclaredLookupsChangeList, base), {})

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        for item in list_filter:
            if isinstance(item, type):
                if issubclass(item, SimpleListFilter) and lookup == item.parameter_name:
                    return True
                continue
            path = item[0] if isinstance(item, (list, tuple)) else item
            path = path if isinstance(path, str) else path.name
            if lookup == path or lookup.startswith(f"{path}__"):
                return True
        return False

    def get_search_results(self, request, queryset, search_term):
        if self.search_required and not search_term.strip():
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class AgentAdminSite(OTPAdminSite):
    name = "admin"
    site_header = "Mon espace santé — espace conseillers"
    site_title = "Espace conseillers"
    index_title = "Accueil des conseillers"
    login_form = AgentAuthenticationForm
    login_template = "admin/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and request.user.kind == UserKind.AGENT

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        admin_class = admin_class or ModelAdmin
        if not issubclass(admin_class, DeclaredLookupsAdmin):
            admin_class = type(
                admin_class.__name__,
                (DeclaredLookupsAdmin, admin_class),
                {"__module__": admin_class.__module__, "__qualname__": admin_class.__qualname__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def autocomplete_view(self, request):
        """Only for a field some admin declares in `autocomplete_fields`. Django's view serves any foreign
        key to a searchable model, with an empty term listing everyone; no admin here declares one."""
        declared = {
            (model._meta.app_label, model._meta.model_name, name)
            for model, model_admin in self._registry.items()
            for name in model_admin.get_autocomplete_fields(request)
        }
        asked = (request.GET.get("app_label"), request.GET.get("model_name"), request.GET.get("field_name"))
        if asked not in declared:
            raise PermissionDenied
        return super().autocomplete_view(request)
