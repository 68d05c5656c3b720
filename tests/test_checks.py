"""``manage.py check`` tells a host site what the comments app is missing, with the fix."""

from django.core import checks

from comments import checks as comment_checks


def ids(messages) -> set[str]:
    return {message.id for message in messages}


def test_the_stand_alone_service_passes_every_check():
    assert [m for m in checks.run_checks() if m.id.startswith("comments.")] == []


def test_a_missing_app_is_named_with_the_fix(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "allauth.headless"]
    [error] = comment_checks.check_installed_apps(None)
    assert error.id == "comments.E001"
    assert "allauth.headless" in error.msg and "INSTALLED_APPS" in error.hint


def test_missing_middleware_is_named(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "AccountMiddleware" not in m]
    assert ids(comment_checks.check_middleware(None)) == {"comments.E002"}


def test_templates_must_find_the_app_s_own(settings):
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "APP_DIRS": False,
                           "OPTIONS": {"context_processors": []}}]
    assert ids(comment_checks.check_templates(None)) == {"comments.E004", "comments.E005"}


def test_a_per_process_cache_is_a_deploy_warning(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert ids(comment_checks.check_shared_cache(None)) == {"comments.W001"}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0"}}
    assert comment_checks.check_shared_cache(None) == []


def test_urls_must_be_included_where_the_scripts_look(settings):
    settings.ROOT_URLCONF = "tests.urls_without_the_app"
    assert ids(comment_checks.check_urls(None)) == {"comments.E006"}
    settings.ROOT_URLCONF = "tests.urls_elsewhere"
    messages = comment_checks.check_urls(None)
    assert ids(messages) == {"comments.W002"}
    assert "/comments/api/v1/counts/" in messages[0].msg
