"""``{{ user|public_name }}``: the name readers see for an account (``COMMENTS_PUBLIC_NAME``)."""

from django import template

from comments import readers

register = template.Library()


@register.filter
def public_name(user) -> str:
    """The reader's public name, never the email or the username ('' for an anonymous user)."""
    return readers.public_name(user)
