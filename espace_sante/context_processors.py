"""What every page needs: the site identity for django-dsfr's base, and the acting profile for the header."""

from types import SimpleNamespace

SITE_CONFIG = SimpleNamespace(
    site_title="Mon espace santé",
    site_tagline="Le carnet de santé numérique de l’Assurance Maladie",
    header_brand="République<br>Française",
    mourning=False,
    notice_title="",
    notice_description="",
    notice_link="",
    notice_type="info",
    notice_icon_class="",
    notice_is_collapsible=False,
)

SKIPLINKS = [{"link": "#content", "label": "Contenu"}, {"link": "#header-navigation", "label": "Menu"}]


def portal(request) -> dict:
    return {"SITE_CONFIG": SITE_CONFIG, "skiplinks": SKIPLINKS, "actor": getattr(request, "actor", None)}
