from django import template

from espace_sante.access import policy

register = template.Library()
TILE_ITEMS = 3


@register.inclusion_tag("agenda/_dashboard_tile.html", takes_context=True)
def agenda_tile(context) -> dict:
    """The dashboard's agenda tile, with the next few planned entries of the profiles the person manages."""
    actor = context["request"].actor
    entries = list(policy.agenda_entries_visible_to(actor).upcoming()[:TILE_ITEMS])
    return {"entries": entries, "family": len(policy.agenda_profiles(actor)) > 1}
