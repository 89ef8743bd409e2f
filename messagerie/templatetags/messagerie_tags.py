"""Unread messages for the header and the dashboard tile: one query per request (see policy)."""

from django import template

from espace_sante.access import policy

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_messages(context) -> int:
    actor = context.get("actor")
    if actor is None or not (actor.is_verified_patient or actor.is_verified_professional):
        return 0
    return policy.unread_messages_count(actor)


@register.simple_tag(takes_context=True)
def messagerie_tile_detail(context) -> str:
    count = unread_messages(context)
    if count == 0:
        return "Échanges sécurisés avec vos soignants"
    return f"{count} message{'s' if count > 1 else ''} non lu{'s' if count > 1 else ''}"
