"""System checks (``manage.py check``) that tell a site adding the app what is missing, with the fix.

Each message names the setting to change. Errors stop ``runserver`` and ``migrate``: without them
the app cannot work. Warnings name what works, but not as a newsroom expects in production.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# What the app's code imports or relies on, and why.
REQUIRED_APPS = {
    "django.contrib.auth": "readers are the site's users",
    "django.contrib.contenttypes": "required by django.contrib.auth",
    "django.contrib.sessions": "pages and the API sign readers in with the session",
    "django.contrib.messages": "the pages confirm posting, editing and reporting with messages",
    "django.contrib.staticfiles": "the widget and the pages' scripts are static files",
    "rest_framework": "the REST API is built on Django REST framework",
    "drf_spectacular": "the API describes itself in OpenAPI",
    "allauth": "readers sign up and sign in with django-allauth",
    "allauth.account": "readers sign up and sign in with django-allauth",
    "allauth.headless": "the API's X-Session-Token sign-in is allauth's headless API",
}
REQUIRED_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": "sessions",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "request.user",
    "django.middleware.csrf.CsrfViewMiddleware": "CSRF protection of the pages' forms",
    "allauth.account.middleware.AccountMiddleware": "django-allauth",
}
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.compatibility)
def check_installed_apps(app_configs, **kwargs):
    installed = set(settings.INSTALLED_APPS)
    return [
        Error(
            f"The comments app needs {app!r} in INSTALLED_APPS: {why}.",
            hint=f"Add {app!r} to INSTALLED_APPS (see the README, 'Add comments to an existing Django site').",
            id="comments.E001",
        )
        for app, why in REQUIRED_APPS.items()
        if app not in installed
    ]


@register(Tags.compatibility)
def check_middleware(app_configs, **kwargs):
    middleware = list(settings.MIDDLEWARE)
    return [
        Error(
            f"The comments app needs {name!r} in MIDDLEWARE ({what}).",
            hint=f"Add {name!r} to MIDDLEWARE, in the order Django's and allauth's documentation give.",
            id="comments.E002",
        )
        for name, what in REQUIRED_MIDDLEWARE.items()
        if name not in middleware
    ]


@register(Tags.templates)
def check_templates(app_configs, **kwargs):
    django_engines = [t for t in settings.TEMPLATES if t["BACKEND"].endswith("DjangoTemplates")]
    if not django_engines:
        return [Error("The comments app renders its pages with Django's template engine.",
                      hint="Add a DjangoTemplates entry to TEMPLATES.", id="comments.E003")]
    engine = django_engines[0]
    processors = engine.get("OPTIONS", {}).get("context_processors", [])
    problems = []
    if not engine.get("APP_DIRS") and "loaders" not in engine.get("OPTIONS", {}):
        problems.append(Error("The comments app's templates ship inside the app.",
                              hint="Set 'APP_DIRS': True in TEMPLATES.", id="comments.E004"))
    if "django.template.context_processors.request" not in processors:
        problems.append(Error("The comments app's templates read the request.",
                              hint="Add 'django.template.context_processors.request' to the context processors.",
                              id="comments.E005"))
    return problems


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "The default cache is private to each process: with several server processes, rate limits "
            "are per process and cached thread pages and counts cannot be shared.",
            hint="Use a cache every process shares: Redis (REDIS_URL in the stand-alone service), "
            "or a file or database cache on one machine.",
            id="comments.W001",
        )
    ]


ACCOUNT_API_MIDDLEWARE = "comments.account_api.AccountApiMiddleware"


@register(Tags.security)
def check_account_api_middleware(app_configs, **kwargs):
    """Without it, hostile bodies sent to allauth's headless API answer 500 or HTML (issue 16)."""
    if ACCOUNT_API_MIDDLEWARE in settings.MIDDLEWARE:
        return []
    return [Warning(
        "allauth's headless API (/_allauth/) answers some bad input with a 500 or an HTML page, and a "
        "sign-up that fails half way can leave an account behind.",
        hint=f"Add {ACCOUNT_API_MIDDLEWARE!r} to MIDDLEWARE, after allauth's AccountMiddleware; set "
             "COMMENTS_ACCOUNT_API_PREFIX if the headless URLs are not under /_allauth/.",
        id="comments.W010",
    )]


# Where the scripts (widget.js, live.js, counts.js) look, on the origin that serves them.
EXPECTED_URLS = {
    "comments_api:api-counts": ("/api/v1/counts/", 'path("api/v1/", include("comments.api.urls"))'),
    "comments:widget_session": ("/widget/session/", 'path("", include("comments.urls"))'),
    "account_login": ("/accounts/login/", 'path("accounts/", include("allauth.urls"))'),
}


@register(Tags.urls)
def check_urls(app_configs, **kwargs):
    """The app's URLs are included, where the scripts look for them."""
    from django.urls import NoReverseMatch, reverse

    problems = []
    for name, (expected, line) in EXPECTED_URLS.items():
        try:
            found = reverse(name)
        except NoReverseMatch:
            problems.append(Error(f"The comments app's URL {name!r} is not in the site's URLconf.",
                                  hint=f"Add {line} to urls.py (see the README).", id="comments.E006"))
            continue
        if found != expected:
            problems.append(Warning(
                f"{name!r} is at {found}, but the widget and the count script look for {expected}.",
                hint=f"Include it as {line}.", id="comments.W002"))
    return problems
