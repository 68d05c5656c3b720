"""Input and output shapes of the API. Serializers validate and render; services decide."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from comments import readers
from comments.models import MAX_ID, Article, Comment, Flag


@extend_schema_field({"type": "string", "format": "uri-reference"})
class LinkField(serializers.CharField):
    """A link relative to the origin the client asked (``/api/v1/...``; ``pagination.link_here``
    says why never absolute): resolve it against the URL of the request."""


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField(help_text="The reader's public name (COMMENTS_PUBLIC_NAME); never the email.")


class MoreRepliesSerializer(serializers.Serializer):
    """Where a cut subtree continues."""

    count = serializers.IntegerField(help_text="Shown replies (at any depth, tombstones included) not in `replies`.")
    next = LinkField(help_text="GET it for the next of them: `/api/v1/comments/{id}/replies/?cursor=…`.")


class CommentSerializer(serializers.ModelSerializer):
    """A comment as API.md shows it; ``replies`` nest its shown subtree, oldest first.

    Expects nodes prepared by ``selectors`` (``replies``, ``liked``, ``can_edit``,
    ``can_delete``, ``is_tombstone``), so rendering costs no query per comment. A tombstone
    keeps its place in the tree but shows no author and no text.
    """

    article = serializers.CharField(source="article.key")
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    in_reply_to = serializers.IntegerField(source="in_reply_to_id", allow_null=True)
    author = serializers.SerializerMethodField()
    body_html = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    is_deleted = serializers.SerializerMethodField()
    liked = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    can_delete = serializers.SerializerMethodField()
    replies = serializers.SerializerMethodField()
    more_replies = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id", "article", "parent", "in_reply_to", "depth", "author", "body_html", "created_at",
            "edited_at", "status", "is_deleted", "like_count", "liked", "reply_count", "can_edit",
            "can_delete", "replies", "more_replies",
        ]

    def _tombstone(self, comment) -> bool:
        return getattr(comment, "is_tombstone", not comment.is_visible and not comment.is_pending)

    @extend_schema_field(AuthorSerializer(allow_null=True))
    def get_author(self, comment) -> dict | None:
        if self._tombstone(comment):
            return None
        return {"id": comment.author_id, "display_name": readers.public_name(comment.author)}

    def get_body_html(self, comment) -> str:
        return "" if self._tombstone(comment) else comment.body_html

    @extend_schema_field(
        {
            "type": "string",
            "enum": ["approved", "pending", "deleted"],
            "description": "`pending`: awaiting a moderator, shown only to its author. "
            "`deleted`: a tombstone, kept because visible replies hang below it "
            "(why it went, deletion or moderation, is nobody else's business).",
        }
    )
    def get_status(self, comment) -> str:
        return "deleted" if self._tombstone(comment) else comment.status

    def get_is_deleted(self, comment) -> bool:
        return self._tombstone(comment)

    def get_liked(self, comment) -> bool:
        return bool(getattr(comment, "liked", False))

    # A tombstone is out of its author's hands too: the API answers 404 for it.
    def get_can_edit(self, comment) -> bool:
        return not self._tombstone(comment) and bool(getattr(comment, "can_edit", False))

    def get_can_delete(self, comment) -> bool:
        return not self._tombstone(comment) and bool(getattr(comment, "can_delete", False))

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/Comment"}})
    def get_replies(self, comment) -> list[dict]:
        return CommentSerializer(getattr(comment, "replies", []), many=True, context=self.context).data

    @extend_schema_field(MoreRepliesSerializer(allow_null=True, help_text=(
        "Set when `replies` was cut: a top-level comment in a thread page, or the comment asked "
        "for, shows at most COMMENTS_REPLIES_SHOWN nodes of its subtree (depth first, oldest first). "
        "Null everywhere else."
    )))
    def get_more_replies(self, comment) -> dict | None:
        return getattr(comment, "more_replies", None)


# The article's page on the news site, or "" when the CMS gave none (the input accepts both).
ARTICLE_URL_SCHEMA = {"anyOf": [{"type": "string", "format": "uri"}, {"type": "string", "maxLength": 0}],
                      "description": "The article's page on the news site; empty when the CMS gave none."}


@extend_schema_field(ARTICLE_URL_SCHEMA)
class ArticleUrlField(serializers.CharField):
    pass


class ArticleSerializer(serializers.ModelSerializer):
    url = ArticleUrlField(read_only=True)
    # Whether a reader can comment now: also false once COMMENTS_CLOSE_AFTER_DAYS has passed.
    comments_open = serializers.BooleanField(source="accepts_comments", read_only=True)

    class Meta:
        model = Article
        fields = ["key", "title", "url", "published_at", "comments_open", "comment_count"]
        read_only_fields = fields


class CommentPageSerializer(serializers.Serializer):
    """One page of an article's thread (for the schema; the view builds the dict)."""

    count = serializers.IntegerField(help_text="Visible comments on the article (article.comment_count).")
    next = LinkField(allow_null=True, help_text="The page after this one (`/api/v1/…?cursor=…`); null after the last.")
    previous = LinkField(allow_null=True, help_text="The page before this one; null on the first.")
    results = CommentSerializer(many=True, help_text="Top-level comments, each with its shown subtree.")


class RepliesPageSerializer(serializers.Serializer):
    """The next replies of a cut subtree (for the schema; the view builds the dict)."""

    next = LinkField(allow_null=True, help_text="The batch after this one; null after the last.")
    remaining = serializers.IntegerField(help_text="Shown replies after this batch (0 when `next` is null).")
    results = CommentSerializer(many=True, help_text=(
        "The batch as a forest, depth first: a reply nests those of the batch below it; one whose "
        "parent came in an earlier batch (or is the comment asked for) is listed here, and its "
        "`parent` says where it goes."
    ))


class RepliesQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, max_length=2000, help_text="Opaque, from `more_replies.next` "
                                   "or `next`; none: from the first reply.")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CommentInputSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False, min_length=1,
                           help_text="Plain text with optional light markup; not blank.")
    parent = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID,
        help_text="Id of a visible comment of the same article to reply to.",
    )


class CommentEditSerializer(serializers.Serializer):
    body = StrictCharField(trim_whitespace=False, min_length=1, help_text="The new text, whole; not blank.")


class FlagInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Flag.Reason.choices)
    note = StrictCharField(required=False, allow_blank=True, max_length=500, default="")


class FlagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Flag
        fields = ["id", "comment", "reason", "note", "created_at"]
        read_only_fields = fields


class LikeSerializer(serializers.Serializer):
    """What a like or unlike leaves behind."""

    id = serializers.IntegerField()
    like_count = serializers.IntegerField()
    liked = serializers.BooleanField()


class ArticleInputSerializer(serializers.Serializer):
    """What the CMS sends to create or update an article (the key is in the URL)."""

    title = StrictCharField(max_length=500)
    url = serializers.URLField(max_length=1000, allow_blank=True)
    published_at = serializers.DateTimeField(required=False, help_text="Default: now, on creation.")
    comments_open = serializers.BooleanField(required=False, help_text="Default: true, on creation.")


class ErrorSerializer(serializers.Serializer):
    """Every 4xx under /api/."""

    detail = serializers.CharField(help_text="For people.")
    code = serializers.CharField(help_text="For programs, e.g. `invalid`, `banned`, `not_authenticated`.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Per-field messages, on validation errors only.",
    )
