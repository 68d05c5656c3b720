"""Input and output shapes of the API. Serializers validate and render; services decide."""

from rest_framework import serializers

from comments.models import Article, Comment


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField(source="public_name")


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
    is_deleted = serializers.SerializerMethodField()
    liked = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    can_delete = serializers.SerializerMethodField()
    replies = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = [
            "id", "article", "parent", "in_reply_to", "depth", "author", "body_html", "created_at",
            "edited_at", "status", "is_deleted", "like_count", "liked", "reply_count", "can_edit",
            "can_delete", "replies",
        ]

    def _tombstone(self, comment) -> bool:
        return getattr(comment, "is_tombstone", not comment.is_visible and not comment.is_pending)

    def get_author(self, comment) -> dict | None:
        if self._tombstone(comment):
            return None
        return {"id": comment.author_id, "display_name": comment.author.public_name}

    def get_body_html(self, comment) -> str:
        return "" if self._tombstone(comment) else comment.body_html

    def get_is_deleted(self, comment) -> bool:
        return self._tombstone(comment)

    def get_liked(self, comment) -> bool:
        return bool(getattr(comment, "liked", False))

    def get_can_edit(self, comment) -> bool:
        return bool(getattr(comment, "can_edit", False))

    def get_can_delete(self, comment) -> bool:
        return bool(getattr(comment, "can_delete", False))

    def get_replies(self, comment) -> list[dict]:
        return CommentSerializer(getattr(comment, "replies", []), many=True, context=self.context).data


class ArticleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Article
        fields = ["key", "title", "url", "published_at", "comments_open", "comment_count"]
        read_only_fields = fields
