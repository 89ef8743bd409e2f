"""The referencing staff's admin: audited status actions; tokens never browsable.

The group's permissions are set here as proposed for accounts/groups.py GROUPS["Référencement"]."""

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Group, Permission
from oauth2_provider.models import AccessToken, RefreshToken

from accounts.models import User
from catalogue.enums import ServiceStatus
from catalogue.models import Service
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import make_service

REFERENCING = [
    ("catalogue", "view_service"),
    ("catalogue", "add_service"),
    ("catalogue", "change_service"),
    ("catalogue", "suspend_service"),
    ("catalogue", "dereference_service"),
    ("catalogue", "view_purpose"),
    ("catalogue", "add_purpose"),
    ("catalogue", "change_purpose"),
    ("catalogue", "delete_purpose"),
    ("catalogue", "view_servicereport"),
    ("catalogue", "change_servicereport"),
]


@pytest.fixture
def referencing_agent(personas, client, login_as):
    group = Group.objects.get(name="Référencement")
    for app_label, codename in REFERENCING:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    User.objects.get(username="agent.cpam").groups.add(group)
    login_as(client, "agent_cpam")
    return client


def test_suspend_and_dereference_from_the_admin(referencing_agent):
    service = make_service()
    url = "/admin/catalogue/service/"
    assert referencing_agent.get(url).status_code == 200
    response = referencing_agent.post(url, {"action": "suspend", "_selected_action": [service.pk]})
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.status == ServiceStatus.SUSPENDED
    response = referencing_agent.post(url, {"action": "dereference", "_selected_action": [service.pk]})
    service.refresh_from_db()
    assert service.status == ServiceStatus.DEREFERENCED
    assert AuditEvent.objects.filter(action=Action.SERVICE_DEREFERENCED, actor_label__contains="Nadia").exists()
    assert Service.objects.count() == 1  # never deleted


def test_other_agents_do_not_see_the_catalogue(personas, client, login_as):
    login_as(client, "agent_cpam")
    assert client.get("/admin/catalogue/service/").status_code == 403


def test_tokens_are_not_registered():
    assert not site.is_registered(AccessToken)
    assert not site.is_registered(RefreshToken)
