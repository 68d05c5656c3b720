"""How events travel from a committed change to the readers' streams.

Services call these functions from ``transaction.on_commit`` only. This module is the only
one that knows how events travel (in-process now; the live-count issue adds the streams and
Redis fan-out behind the same three functions).
"""

import logging

logger = logging.getLogger(__name__)


def visibility_changed(*, article_id: int, comment_id: int, visible: bool) -> None:
    """A comment became visible (``comment`` + ``count`` events) or stopped being (``remove``)."""
    logger.debug("comment %s on article %s visible=%s", comment_id, article_id, visible)


def comment_edited(*, article_id: int, comment_id: int) -> None:
    """A visible comment's text changed."""
    logger.debug("comment %s on article %s edited", comment_id, article_id)
