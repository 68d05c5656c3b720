"""Keep the cached banned-word list in step with the table, whichever door changed it."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from comments import services
from comments.models import BannedWord, Comment
from comments.moderation import BANNED_WORDS_CACHE_KEY


@receiver([post_save, post_delete], sender=BannedWord)
def forget_banned_words(**kwargs):
    cache.delete(BANNED_WORDS_CACHE_KEY)


@receiver(post_delete, sender=Comment)
def uncount_hard_deleted_comment(instance: Comment, **kwargs):
    """Readers and articles deleted in the admin cascade to comments: keep the counts exact."""
    services.uncount_removed_comment(instance)
