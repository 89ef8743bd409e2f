from django.contrib.admin.apps import AdminConfig


class AgentAdminConfig(AdminConfig):
    """Django's admin, served by the agents' site (password + mandatory authenticator code)."""

    default_site = "espace_sante.admin_site.AgentAdminSite"
