"""Keep the cached banned-word list and the counters in step with rows deleted by any door
(the admin's delete of a user or an article cascades to comments, likes and flags)."""

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from comments import services
from comments.models import BannedWord, Comment, Flag, Like
from comments.moderation import BANNED_WORDS_CACHE_KEY


@receiver([post_save, post_delete], sender=BannedWord)
def forget_banned_words(**kwargs):
    """Now, and again after the commit: a process that read the list in between read the old one."""
    cache.delete(BANNED_WORDS_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(BANNED_WORDS_CACHE_KEY))


@receiver(post_delete, sender=Comment)
def uncount_hard_deleted_comment(instance: Comment, **kwargs):
    """Readers and articles deleted outright cascade to comments: the counters move through the
    services' one counter function, which publishes the removals and counts after the commit."""
    services.uncount_removed_comment(instance)


def _deleted_with_a_reader(origin) -> bool:
    user_model = get_user_model()
    return isinstance(origin, user_model) or (isinstance(origin, QuerySet) and origin.model is user_model)


@receiver(post_delete, sender=Like)
@receiver(post_delete, sender=Flag)
def uncount_reaction_of_deleted_reader(instance, origin=None, **kwargs):
    """Unliking moves the counter itself; only a reader's deletion needs this."""
    if _deleted_with_a_reader(origin):
        services.uncount_removed_like_or_flag(instance)
