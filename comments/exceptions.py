"""Domain errors raised by services. The API maps them to HTTP in one place; pages to messages."""


class CommentsError(Exception):
    """Base class: ``code`` is the machine-readable reason, the message is for people."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidComment(CommentsError):
    """The body or the parent is not acceptable; ``fields`` says which."""

    code = "invalid"
    status = 400


class CommentsClosed(CommentsError):
    code = "comments_closed"
    status = 403


class ReaderBanned(CommentsError):
    code = "banned"
    status = 403


class NotPermitted(CommentsError):
    code = "permission_denied"
    status = 403


class EditWindowClosed(CommentsError):
    code = "edit_window_closed"
    status = 403


class PostingTooFast(CommentsError):
    """The reader hit a rate limit on the pages (the API answers DRF's 429 itself)."""

    code = "throttled"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class RejectedByModeration(CommentsError):
    """A banned word rejected the comment outright; nothing was saved."""

    code = "rejected"
    status = 400
