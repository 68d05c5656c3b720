"""The stand-alone service's admin: its own titles, and its readers' display names on the user page.

The comments app registers its own models only; replacing ``auth.User``'s admin is a site's
choice, and this site makes it so that an administrator edits an account and its public name on
one page. It also asks for the app's rate-limited admin sign-in (``comments.admin.login``).
Imported by ``comments_project.urls``.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from comments.admin.login import throttle_admin_login
from comments.admin.readers import ReaderProfileInline

admin.site.site_header = "The Daily Comment · moderation desk"
admin.site.site_title = "Moderation desk"
admin.site.index_title = "What waits for you"
# Failed sign-ins limited like the readers' (per address and per account, with Retry-After).
throttle_admin_login(admin.site)

User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ReaderUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ReaderProfileInline]
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")
