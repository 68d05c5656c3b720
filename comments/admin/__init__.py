"""The moderation desk: comments, the queue, flags, banned words, bans and the moderation log.

Every status change, ban and closing goes through ``services`` (one write path with the API and
the pages, so counts, flags and the log follow); the admin never saves a comment. The actions
require the custom permissions that the "Moderators" group holds (migration 0002).

Split by concern; importing the package registers every model with ``admin.site``. The app
leaves the admin site's own titles to the project (the stand-alone service brands its own).
"""

from comments.admin import articles, comments, log, readers  # noqa: F401  (registration)
