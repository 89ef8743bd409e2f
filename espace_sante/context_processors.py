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
    nonce = getattr(request, "csp_nonce", None)
    if nonce is not None:
        # django-csp's nonce is lazy and reads as false until used; django-dsfr's script tag tests it before
        # writing nonce="…". Reading it here puts the nonce in both the page and the header.
        str(nonce)
    return {"SITE_CONFIG": SITE_CONFIG, "skiplinks": SKIPLINKS, "actor": getattr(request, "actor", None)}
