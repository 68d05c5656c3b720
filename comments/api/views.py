"""The REST API of API.md. Thin: validate with a small input serializer, call a service, render
plain dicts from ``payloads`` (``CommentSerializer`` only describes them in the schema). Domain
errors become HTTP in ``api/exceptions.py``, never here.
"""

import inspect
from datetime import UTC

from django.apps import apps
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from comments import conf, fragments, payloads, readers, selectors, services, versions
from comments.api import thread_pages
from comments.api.authentication import SessionTokenAuthentication
from comments.api.exceptions import api_exception_handler
from comments.api.pagination import Page, PageQuerySerializer, link_here, paginate
from comments.api.parsers import StrictJSONParser
from comments.api.permissions import CanUpsertArticle
from comments.api.serializers import (
    ArticleInputSerializer,
    ArticleSerializer,
    CommentEditSerializer,
    CommentInputSerializer,
    CommentPageSerializer,
    CommentSerializer,
    ErrorSerializer,
    FlagInputSerializer,
    FlagSerializer,
    LikeSerializer,
    RepliesPageSerializer,
    RepliesQuerySerializer,
)
from comments.models import ARTICLE_KEY_PATTERN, Article, Comment
from comments.throttles import AnonThrottle, FlagThrottle, LikeThrottle, PostCommentThrottle, ReaderThrottle


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema of a view, with PATCH bodies as this API reads them: whole.

    drf-spectacular documents every PATCH body as partial (nothing required), as DRF's generic
    views validate it; ours validate the full input serializer, so a PATCH without ``body`` is a
    400 and the schema must say ``body`` is required.
    """

    def _get_request_for_media_type(self, serializer, direction="request"):
        method, self.method = self.method, "PUT"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = method


def api_schema(**kwargs):
    """drf-spectacular's ``extend_schema``, built on drf-spectacular's ``AutoSchema`` whatever the
    site's ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` is. On a view method the decorator extends
    that default, and a host site keeps DRF's own there: its ``manage.py check --deploy`` failed
    with drf_spectacular.E001 and the schema could not be generated."""

    def decorator(view):
        if not inspect.isclass(view) and "schema" not in getattr(view, "kwargs", {}):
            view.kwargs = {**getattr(view, "kwargs", {}), "schema": ApiAutoSchema}
        return extend_schema(**kwargs)(view)

    return decorator


ERRORS = {
    400: "Invalid input: `fields` says which.",
    401: "Not signed in, or the credentials sent are wrong. A wrong DRF token (`Authorization`) fails "
         "even a read; an unknown or expired `X-Session-Token` reads as anonymous, and fails where "
         "signing in is needed.",
    403: "Not allowed: `code` is `banned`, `comments_closed`, `edit_window_closed` or `permission_denied`.",
    404: "Unknown, or not visible to you.",
    413: "The request body is over the size limit.",
    415: "Not `application/json`.",
    429: "Throttled; `Retry-After` says in how many seconds to retry.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=ERRORS[code]) for code in codes}


# Every request with a body may be refused for its size or its content type.
BODY_ERRORS = (400, 413, 415, 429)

KEY = OpenApiParameter(
    "key", str, OpenApiParameter.PATH, pattern=f"^{ARTICLE_KEY_PATTERN}$",
    description="The CMS's identifier of the article.",
)
COMMENT_ID = OpenApiParameter(
    "id", {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}, OpenApiParameter.PATH,
    description="The comment's id (at most 18 digits: a longer one names no comment, 404).",
)


def validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def replies_link_base(request) -> str:
    """What the replies links of a page share (their path prefix, where the site mounts the API):
    part of a cached thread's key, since its bytes hold the links."""
    return reverse("comments_api:comment-replies", args=[0])


def replies_link(request) -> payloads.RepliesLink:
    """Links to the next replies of a cut subtree, relative to the API's origin like ``next`` of
    a page (``pagination.link_here`` says why: no host or port a client wrote gets into them)."""

    def link(comment_id: int, cursor: str) -> str:
        path = reverse("comments_api:comment-replies", args=[comment_id])
        return f"{path}?cursor={cursor}"

    return link


def render_comment(comment: Comment, request) -> dict:
    """``comment`` with its shown subtree as the caller sees it (404 if they no longer may),
    cut after COMMENTS_REPLIES_SHOWN replies."""
    node = payloads.comment(comment.pk, viewer=request.user, replies_shown=conf.replies_shown(),
                            replies_link=replies_link(request))
    if node is None:
        raise NotFound("No such comment.")
    return node


def _authentication_classes() -> list:
    """allauth's session token first (its challenge makes DRF answer 401), the session, and DRF's
    tokens for the CMS when the site installed ``rest_framework.authtoken``."""
    classes = [SessionTokenAuthentication, SessionAuthentication]
    if apps.is_installed("rest_framework.authtoken"):
        classes.append(TokenAuthentication)
    return classes


# What a signed-in request carries: the session cookie, allauth's token, DRF's token.
CREDENTIAL_HEADERS = ("Cookie", "X-Session-Token", "Authorization")


class ApiView(APIView):
    """Every view of the API carries its own DRF policy, so that a host project's global
    ``REST_FRAMEWORK`` settings (other renderers, permissions, throttles, error handler) cannot
    change the API.md contract."""

    authentication_classes = _authentication_classes()
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    parser_classes = [StrictJSONParser]
    throttle_classes = [AnonThrottle, ReaderThrottle]
    schema = ApiAutoSchema()

    def get_exception_handler(self):
        return api_exception_handler

    def dispatch(self, request, *args, **kwargs):
        # Times in the API are UTC ("...Z"), whatever the site's TIME_ZONE: one format for every
        # client, the same as payloads writes; pages show the site's (or the reader's) zone.
        with timezone.override(UTC):
            return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        """No shared cache may keep one reader's answer for another (issue 16.9): every answer
        varies on the credentials a request can carry, and one sent with them is private unless
        the view said otherwise (RFC 9111 §5.2.2.7)."""
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, CREDENTIAL_HEADERS)
        if "Cache-Control" not in response and thread_pages.sends_credentials(request):
            response["Cache-Control"] = "private, no-cache"
        return response


class CommentApiView(ApiView):
    """Views on one comment: those the caller may not see do not exist (404)."""

    def get_comment(self, comment_id: int) -> Comment:
        comment = (
            Comment.objects.visible_to(self.request.user)
            .select_related("article", "author")
            .filter(pk=comment_id)
            .first()
        )
        if comment is None:
            raise NotFound("No such comment.")
        return comment


@api_schema(tags=["articles"], parameters=[KEY])
class ArticleDetailView(ApiView):
    def get_permissions(self):
        return [CanUpsertArticle()] if self.request.method == "PUT" else [AllowAny()]

    @api_schema(
        summary="An article and its comment count", responses={200: ArticleSerializer, **errors(401, 404, 429)}
    )
    def get(self, request, key: str):
        return Response(ArticleSerializer(get_object_or_404(Article, key=key)).data)

    @api_schema(
        summary="Create or update an article (the CMS's token)",
        description="Creating needs the permission `comments.add_article`, changing an existing "
        "article `comments.change_article`: an account in the **CMS** group (created by a "
        "migration) or a superuser. Being staff is not enough (moderators are staff): others get 403.",
        request=ArticleInputSerializer,
        responses={
            200: OpenApiResponse(ArticleSerializer, description="Updated."),
            201: OpenApiResponse(ArticleSerializer, description="Created."),
            **errors(*BODY_ERRORS, 401, 403),
            404: OpenApiResponse(ErrorSerializer, description="The key is not 1-200 characters of "
                                 "`[A-Za-z0-9._~-]`: no such article can exist."),
        },
    )
    def put(self, request, key: str):
        article, created = services.upsert_article(
            key=key, actor=request.user, **validated(ArticleInputSerializer, request.data)
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(ArticleSerializer(article).data, status=code)


@api_schema(tags=["comments"], parameters=[KEY])
class ArticleCommentsView(ApiView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    throttle_classes = [*ApiView.throttle_classes, PostCommentThrottle]

    def dispatch(self, request, *args, **kwargs):
        # The hot path: an anonymous reader's page straight from the cache, before DRF runs.
        if request.method == "GET":
            cached = thread_pages.cached_public_page(request, kwargs.get("key", ""))
            if cached is not None:
                return cached
        return super().dispatch(request, *args, **kwargs)

    @api_schema(
        summary="The thread, a page of top-level comments with their replies",
        description="Replies are nested oldest first. The reader's own pending comments are included "
        "with `status: \"pending\"`. Follow `next` / `previous` for more. Each top-level comment "
        "carries at most COMMENTS_REPLIES_SHOWN (default 50) nodes of its subtree, depth first; when "
        "more follow, its `more_replies` says how many and where (`/comments/{id}/replies/`).",
        parameters=[PageQuerySerializer],
        responses={200: CommentPageSerializer, **errors(400, 401, 404, 429)},
    )
    def get(self, request, key: str):
        query = validated(PageQuerySerializer, request.query_params)
        # The version is read before the thread (see comments.versions); it is created only for
        # an article that exists.
        version = versions.peek(key)
        if version is None:
            if not Article.objects.filter(key=key).exists():
                raise NotFound("No such article.")
            version = versions.article_version(key)
        viewer = request.user
        etag, body = thread_pages.public_page(request, key, version, lambda: self._public_page(request, key, query))
        if not viewer.is_authenticated:
            return thread_pages.respond(request, etag, body, public=True)
        # A signed-in reader sees the public page, plus their own pending replies laid into it
        # where they belong, plus their likes and rights; a page where that is not enough (a
        # pending top-level comment, a reply under a cut or hidden comment) is built for them.
        page = payloads.loads(body)
        pending = payloads.pending_rows(viewer, article_key=key)
        if pending and not payloads.add_pending(page["results"], pending, article_key=key, viewer=viewer,
                                                replies_shown=conf.replies_shown(), replies_link=replies_link(request)):
            page = self._page(request, key, query, viewer=viewer)
        else:
            payloads.overlay_viewer(page["results"], viewer=viewer)
        body = payloads.dumps(page)
        return thread_pages.respond(request, thread_pages.etag_of(body), body, public=False)

    @staticmethod
    def _roots(request, key: str, query: dict, *, viewer, fields=payloads.ROW_FIELDS) -> tuple[Article, Page]:
        """The article and its page of top-level rows (``fields`` of each)."""
        article = get_object_or_404(Article, key=key)
        page = paginate(
            selectors.shown_roots(article, viewer=viewer, sort=query["sort"]),
            request=request, sort=query["sort"], page_size=query["page_size"], cursor=query.get("cursor"),
            fetch=lambda rows: payloads.fetch_rows(rows, fields=fields),
        )
        return article, page

    @classmethod
    def _page(cls, request, key: str, query: dict, *, viewer) -> dict:
        """One page of the thread as ``viewer`` (None: the public) sees it: three queries."""
        article, page = cls._roots(request, key, query, viewer=viewer)
        return {
            "count": article.comment_count,
            "next": page.next,
            "previous": page.previous,
            "results": payloads.threads(page.items, article_key=article.key, viewer=viewer,
                                        replies_shown=conf.replies_shown(), replies_link=replies_link(request)),
        }

    @classmethod
    def _public_page(cls, request, key: str, query: dict) -> bytes:
        """The page as the public sees it, in JSON: with the read cache on, each thread on it
        comes from ``comments.fragments`` and only the threads that changed are built (two
        queries: the article, the page's top-level ids and revisions; two more for the threads
        to build); else as ``_page`` builds it."""
        if not conf.read_cache():
            return payloads.dumps(cls._page(request, key, query, viewer=None))
        article, page = cls._roots(request, key, query, viewer=None, fields=payloads.HEAD_FIELDS)
        link = replies_link(request)
        threads = fragments.public_threads(page.items, article_key=article.key, replies_link=link,
                                           context=fragments.context_of(replies_link_base(request)))
        return fragments.page_bytes({"count": article.comment_count, "next": page.next, "previous": page.previous},
                                    threads)

    @api_schema(
        summary="Post a comment or a reply",
        description="201 with the comment: `status` is `approved`, or `pending` when it waits for a moderator.",
        request=CommentInputSerializer,
        responses={201: CommentSerializer, **errors(*BODY_ERRORS, 401, 403, 404)},
    )
    def post(self, request, key: str):
        article = get_object_or_404(Article, key=key)
        data = validated(CommentInputSerializer, request.data)
        comment = services.post_comment(
            article=article, author=request.user, body=data["body"], parent=data.get("parent")
        )
        node = payloads.new_comment(comment, article_key=article.key, author_name=readers.public_name(request.user))
        return Response(node, status=status.HTTP_201_CREATED)


@api_schema(tags=["comments"], parameters=[COMMENT_ID])
class CommentDetailView(CommentApiView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @api_schema(summary="One comment with its replies", responses={200: CommentSerializer, **errors(401, 404, 429)})
    def get(self, request, id: int):
        return Response(render_comment(self.get_comment(id), request))

    @api_schema(
        summary="Edit your comment (within the edit window)",
        request=CommentEditSerializer,
        responses={200: CommentSerializer, **errors(*BODY_ERRORS, 401, 403, 404)},
    )
    def patch(self, request, id: int):
        comment = self.get_comment(id)
        body = validated(CommentEditSerializer, request.data)["body"]
        comment = services.edit_comment(comment=comment, editor=request.user, body=body)
        return Response(render_comment(comment, request))

    @api_schema(
        summary="Delete your comment",
        description="Soft: while visible replies remain it stays in the thread as a tombstone.",
        responses={204: OpenApiResponse(description="Deleted."), **errors(401, 403, 404, 429)},
    )
    def delete(self, request, id: int):
        services.delete_comment(comment=self.get_comment(id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@api_schema(tags=["comments"], parameters=[COMMENT_ID])
class CommentRepliesView(ApiView):
    permission_classes = [AllowAny]

    @api_schema(
        summary="More replies of a comment whose subtree was cut",
        description="The next COMMENTS_REPLIES_SHOWN (default 50) nodes of the comment's shown subtree "
        "(replies at any depth, tombstones included), depth first, oldest first among siblings: the "
        "order of the thread. Start from `more_replies.next` of the comment and follow `next` until "
        "it is null. Each result goes under the comment its `parent` names (already shown, or "
        "earlier in `results`). A cursor stays valid while the thread changes: the batch starts at "
        "the first reply that follows its position. Any comment you can see works, top-level or "
        "not. The reader's own pending replies are included, as in the thread.",
        parameters=[RepliesQuerySerializer],
        responses={200: RepliesPageSerializer, **errors(400, 401, 404, 429)},
    )
    def get(self, request, id: int):
        query = validated(RepliesQuerySerializer, request.query_params)
        try:
            after = payloads.decode_cursor(query["cursor"]) if "cursor" in query else None
        except ValueError:
            raise ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor") from None
        viewer = request.user
        if viewer.is_authenticated:
            body = payloads.dumps(self._batch(request, id, after, viewer=viewer))
            return thread_pages.respond(request, thread_pages.etag_of(body), body, public=False)
        # Anonymous readers share cached bytes, versioned with the article's thread (read first).
        key = Comment.objects.filter(pk=id).values_list("article__key", flat=True).first()
        if key is None:
            raise NotFound("No such comment.")
        version = versions.article_version(key)  # the comment exists, so its article does
        etag, body = thread_pages.public_page(request, key, version,
                                              lambda: payloads.dumps(self._batch(request, id, after, viewer=None)))
        return thread_pages.respond(request, etag, body, public=True)

    @staticmethod
    def _batch(request, comment_id: int, after, *, viewer) -> dict:
        batch = payloads.replies(comment_id, viewer=viewer, after=after, limit=conf.replies_shown())
        if batch is None:
            raise NotFound("No such comment.")
        next_url = None
        if batch["after"] is not None:
            next_url = link_here(request, cursor=payloads.encode_cursor(batch["after"]))
        return {"next": next_url, "remaining": batch["remaining"], "results": batch["results"]}


@api_schema(tags=["comments"], parameters=[COMMENT_ID])
class CommentFlagView(CommentApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [*ApiView.throttle_classes, FlagThrottle]

    @api_schema(
        summary="Report a comment to the moderators",
        request=FlagInputSerializer,
        responses={
            201: OpenApiResponse(FlagSerializer, description="Reported."),
            200: OpenApiResponse(FlagSerializer, description="You had already reported it: your first report."),
            **errors(*BODY_ERRORS, 401, 403, 404),
        },
    )
    def post(self, request, id: int):
        comment = self.get_comment(id)
        data = validated(FlagInputSerializer, request.data)
        flag, created = services.flag_comment(comment=comment, reader=request.user, **data)
        return Response(FlagSerializer(flag).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@api_schema(tags=["comments"], parameters=[COMMENT_ID], request=None)
class CommentLikeView(CommentApiView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [*ApiView.throttle_classes, LikeThrottle]

    @api_schema(summary="Like a comment (again: no change)",
                   responses={200: LikeSerializer, **errors(400, 401, 403, 404, 429)})
    def post(self, request, id: int):
        comment = services.like_comment(comment=self.get_comment(id), reader=request.user)
        return Response({"id": comment.pk, "like_count": comment.like_count, "liked": True})

    @api_schema(summary="Take back your like (none: no change)",
                   responses={200: LikeSerializer, **errors(401, 403, 404, 429)})
    def delete(self, request, id: int):
        comment = services.unlike_comment(comment=self.get_comment(id), reader=request.user)
        return Response({"id": comment.pk, "like_count": comment.like_count, "liked": False})
