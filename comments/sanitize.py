"""Turn what a reader typed into safe HTML. The only module that imports bleach.

bleach 6.4.0 is its last release; keeping it behind ``clean_comment_html`` means the sanitizer
can be swapped in this one file. The Content-Security-Policy on reader pages is the second wall.
"""

import re
import threading
from functools import partial

import bleach
from bleach.linkifier import LinkifyFilter

ALLOWED_TAGS = frozenset({"p", "br", "a", "em", "strong", "code", "blockquote"})
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener"

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Control characters other than tab and newline carry no text and confuse storage and display.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")
_EMPTY_PARAGRAPH = re.compile(r"<p>(\s|<br>)*</p>")


def _link_attrs(attrs, new=False):
    """Every link gets our rel; a link without an allowed href is unlinked (its text stays)."""
    href = attrs.get((None, "href"), "")
    scheme = href.split(":", 1)[0].lower() if ":" in href else ""
    if not href or (scheme and scheme not in ALLOWED_PROTOCOLS):
        return None
    if not scheme and not new:
        # A relative or protocol-less href typed as <a href="..."> could point anywhere on
        # the embedding site; only absolute http(s)/mailto links survive.
        return None
    attrs[(None, "rel")] = LINK_REL
    return attrs


_per_thread = threading.local()


def _cleaner() -> bleach.Cleaner:
    """This thread's cleaner, built once per thread: bleach's Cleaner keeps parser state while it
    cleans ("not thread-safe ... create a separate cleaner per thread"), and threaded servers run
    requests side by side."""
    cleaner = getattr(_per_thread, "cleaner", None)
    if cleaner is None:
        cleaner = _per_thread.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            strip=True,
            strip_comments=True,
            filters=[partial(LinkifyFilter, callbacks=[_link_attrs], skip_tags={"code"}, parse_email=True)],
        )
    return cleaner


def normalize_text(text: str) -> str:
    """Unify line endings and drop control characters; what is stored as ``body``."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL_CHARS.sub("", text).strip()


def clean_comment_html(text: str) -> str:
    """Sanitized HTML for a comment: allowlisted tags, linkified URLs, paragraphs.

    Blank lines separate paragraphs, single line breaks become ``<br>``. The cleaner runs
    after the paragraphs are built so that it also balances any tag a reader left open.
    """
    text = normalize_text(text)
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    html = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return _EMPTY_PARAGRAPH.sub("", _cleaner().clean(html))


def visible_text(html: str) -> str:
    """The text a reader would see of sanitized HTML (to reject bodies that clean to nothing)."""
    return _TAG.sub("", html).replace("&nbsp;", " ").strip()
