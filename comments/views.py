"""The server-rendered pages. They read through selectors and write through services, like the API.

Every form works without JavaScript; the widget (static/comments/widget.js) enhances them.
"""

from math import ceil

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comments import conf, readers, selectors, services
from comments.exceptions import CommentsError, PostingTooFast
from comments.forms import CommentForm, FlagForm
from comments.models import Article, Comment
from comments.querysets import SORT_ORDERS
from comments.throttles import FlagThrottle, LikeThrottle, PostCommentThrottle

SORTS = {sort: sort.title() for sort in SORT_ORDERS}  # value: label


@require_GET
def article_list(request):
    page = Paginator(selectors.articles_newest_first(), 20).get_page(request.GET.get("page"))
    return render(request, "comments/article_list.html", {"page": page, "articles": page.object_list})


def section_context(request, article: Article, *, form=None, reply_form=None,
                    reply_to: int | None = None) -> dict:
    """What ``comments/_section.html`` needs to show ``article``'s comments on any page: the
    sorted, paginated thread as ``request.user`` sees it (``?sort=`` and ``?page=`` of the
    request), the forms and the article's state. The article page and the host sites'
    ``{% comment_section %}`` tag both render the section from it."""
    sort = request.GET.get("sort", "newest")
    if sort not in SORTS:
        sort = "newest"
    page = Paginator(
        selectors.shown_roots(article, viewer=request.user, sort=sort), conf.page_size()
    ).get_page(request.GET.get("page"))
    thread = selectors.cut_replies(
        selectors.attach_threads(page.object_list, viewer=request.user), limit=conf.replies_shown()
    )
    if reply_form is not None and reply_to not in {c.pk for c in selectors.flatten(thread)}:
        # The answered comment is not on this page (gone, hidden, elsewhere): show the error
        # and the typed text in the main form, so nothing the reader wrote is lost.
        form, reply_form, reply_to = reply_form, None, None
    return {
        "article": article,
        "thread": thread,
        "page": page,
        "sort": sort,
        "sorts": SORTS,
        "form": form or CommentForm(),
        "reply_form": reply_form,
        "reply_to": reply_to,
        "accepts_comments": article.accepts_comments,
        "max_depth": conf.max_depth(),
        "discussion_url": discussion_url(article),
    }


def _article_page(request, article: Article, *, status: int = 200, form=None, reply_form=None,
                  reply_to: int | None = None):
    context = section_context(request, article, form=form, reply_form=reply_form, reply_to=reply_to)
    return render(request, "comments/article_detail.html", context, status=status)


def discussion_url(article: Article) -> str:
    """Where readers read ``article``'s comments: for an article of a host site's own object
    (``comments.hosts``: its ``url`` is a path on this site) that object's page, else the app's
    article page. Posting, liking and the permalinks lead there."""
    if article.url.startswith("/") and not article.url.startswith("//"):
        return article.url
    return article.get_absolute_url()


@require_GET
def article_detail(request, key: str):
    article = get_object_or_404(Article, key=key)
    return _article_page(request, article)


def _comment_url(comment: Comment) -> str:
    return comment.get_absolute_url()


def _thread_url(top_id: int, *, at: int) -> str:
    return f"{reverse('comments:comment_thread', args=[top_id])}#comment-{at}"


@require_GET
def comment_permalink(request, pk: int):
    """A comment's lasting address: the page of its article that shows its thread, at the comment.

    Links and redirects after liking, editing or reporting come here, so a reader on page 3
    lands back on page 3 and not on the newest comments.
    """
    comment = get_object_or_404(Comment.objects.select_related("article", "root"), pk=pk)
    if not selectors.shows_on_the_article_page(comment, viewer=request.user, limit=conf.replies_shown()):
        # A reply past "Show N more replies": its thread's own page shows it.
        return HttpResponseRedirect(_thread_url(comment.root_id, at=comment.pk))
    page = selectors.thread_page_number(comment, viewer=request.user, page_size=conf.page_size())
    query = f"?page={page}" if page > 1 else ""
    return HttpResponseRedirect(f"{discussion_url(comment.article)}{query}#comment-{comment.pk}")


@require_GET
def comment_thread(request, pk: int):
    """A top-level comment's whole thread on a page of its own: where "Show N more replies"
    leads without JavaScript. A reply's address leads to its thread's page, at the reply."""
    comment = get_object_or_404(Comment.objects.select_related("article", "root", *selectors.AUTHOR), pk=pk)
    if comment.root_id is not None:
        return HttpResponseRedirect(_thread_url(comment.root_id, at=pk))
    node = selectors.shown_comment(comment, viewer=request.user)
    if node is None:
        raise Http404("No such comment.")
    article = comment.article
    context = {
        "article": article,
        "top": node,
        "reply_form": None,
        "reply_to": None,
        "accepts_comments": article.accepts_comments,
        "max_depth": conf.max_depth(),
    }
    return render(request, "comments/comment_thread.html", context)


@require_POST
def post_comment(request, key: str):
    article = get_object_or_404(Article, key=key)
    if not request.user.is_authenticated:
        messages.info(request, "Sign in to comment.")
        return redirect(f"{reverse('account_login')}?next={discussion_url(article)}")
    form = CommentForm(request.POST)
    parent_id = request.POST.get("parent") or None
    is_reply = bool(parent_id)
    error = None
    if form.is_valid():
        try:
            check_rate(request, PostCommentThrottle)
            comment = services.post_comment(
                article=article, author=request.user, body=form.cleaned_data["body"],
                parent=form.cleaned_data["parent"],
            )
            if comment.is_pending:
                messages.info(request, "Thanks! Your comment is awaiting moderation; only you can see it for now.")
            else:
                messages.success(request, "Your comment is published.")
            return HttpResponseRedirect(_comment_url(comment))
        except CommentsError as refused:
            error = refused
            form.add_error("body" if "body" in error.fields else None, error.message)
    reply_to = None
    if is_reply:
        try:
            reply_to = int(parent_id)
        except (TypeError, ValueError):
            reply_to = None
    response = _article_page(
        request, article, status=error.status if error else 400,
        form=None if is_reply else form,
        reply_form=form if is_reply else None,
        reply_to=reply_to,
    )
    return _with_retry_after(response, error)


def check_rate(request, throttle_class) -> None:
    """The API's per-reader write limits hold on the pages too: same scopes, same counters."""
    throttle = throttle_class()
    if not throttle.allow_request(request, None):
        wait = max(1, ceil(throttle.wait() or 1))
        raise PostingTooFast(f"You are going too fast. Please try again in {wait} seconds.", retry_after=wait)


def _with_retry_after(response, error: CommentsError):
    if isinstance(error, PostingTooFast):
        response["Retry-After"] = str(error.retry_after)
    return response


def _own_comment(request, pk: int) -> Comment:
    return get_object_or_404(
        Comment.objects.select_related("article"), pk=pk, author=request.user, is_deleted=False
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_comment(request, pk: int):
    comment = _own_comment(request, pk)
    form = CommentForm(request.POST or None, initial={"body": comment.body})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.edit_comment(comment=comment, editor=request.user, body=form.cleaned_data["body"])
                messages.success(request, "Your comment is updated.")
                return HttpResponseRedirect(_comment_url(comment))
            except CommentsError as error:
                form.add_error("body" if "body" in error.fields else None, error.message)
        status = 400
    return render(request, "comments/comment_edit.html", {"comment": comment, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def delete_comment(request, pk: int):
    comment = _own_comment(request, pk)
    if request.method == "POST":
        services.delete_comment(comment=comment, actor=request.user)
        messages.success(request, "Your comment is deleted.")
        return redirect(discussion_url(comment.article))
    return render(request, "comments/comment_delete.html", {"comment": comment})


@login_required
@require_POST
def like_comment(request, pk: int):
    comment = get_object_or_404(Comment.objects.select_related("article"), pk=pk)
    try:
        check_rate(request, LikeThrottle)
        if request.POST.get("action") == "unlike":
            services.unlike_comment(comment=comment, reader=request.user)
        else:
            services.like_comment(comment=comment, reader=request.user)
    except CommentsError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(_comment_url(comment))


@login_required
@require_http_methods(["GET", "POST"])
def flag_comment(request, pk: int):
    comment = get_object_or_404(Comment.objects.select_related("article", "author"), pk=pk)
    if not comment.is_visible_to(request.user):
        return redirect(discussion_url(comment.article))
    form = FlagForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                check_rate(request, FlagThrottle)
                _, created = services.flag_comment(
                    comment=comment, reader=request.user,
                    reason=form.cleaned_data["reason"], note=form.cleaned_data["note"],
                )
                thanks = "Thank you, a moderator will look at it."
                messages.success(request, thanks if created else "You already reported this comment.")
                return redirect(discussion_url(comment.article))
            except CommentsError as error:
                form.add_error(None, error.message)
        status = 400
    return render(request, "comments/comment_flag.html", {"comment": comment, "form": form}, status=status)


@require_GET
def embed_demo(request):
    """A page that embeds the widget the way a news site would: the snippet, shown and used."""
    article = selectors.articles_newest_first().filter(key=request.GET.get("article", "")).first()
    article = article or selectors.articles_newest_first().first()
    widget_url = request.build_absolute_uri(static("comments/widget.js"))
    return render(request, "comments/embed_demo.html", {"article": article, "widget_url": widget_url})


@never_cache
@require_GET
def widget_session(request):
    """Who is reading, and a CSRF token for the widget.

    A news page on another origin cannot read this host's ``csrftoken`` cookie, so the widget
    asks here (CORS lets only the allowed origins read the answer) and sends it back as
    ``X-CSRFToken`` with its writes.
    """
    user = request.user
    reader = {"id": user.pk, "display_name": readers.public_name(user)} if user.is_authenticated else None
    return JsonResponse({
        "reader": reader,
        "csrf_token": get_token(request),
        "login_url": request.build_absolute_uri(reverse("account_login")),
        "signup_url": request.build_absolute_uri(reverse("account_signup")),
    })


def csrf_failure(request, reason=""):
    """A forged or stale form: say so plainly (as JSON under /api/) instead of Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "CSRF check failed. Reload and try again.", "code": "csrf_failed"}, status=403)
    return render(request, "403_csrf.html", status=403)
