"""Readers and bans: banning from any list, lifting bans, each reader's pre-moderation."""


from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comments import services
from comments.admin.base import ModerationPermissions, ReadOnlyAdmin, reader_label, user_search_fields
from comments.models import Ban, Comment, ReaderProfile
from comments.readers import public_name as public_name_of

# --- Banning ------------------------------------------------------------------------------------


class BanForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Shown to the reader when they try to post.",
    )
    until = forms.DateTimeField(
        required=False, label="Suspend until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Empty: banned until a moderator lifts it. A date: a suspension that ends by itself.",
    )
    hide_comments = forms.BooleanField(
        required=False, label="Also hide all their comments",
        help_text="Their approved and pending comments become rejected; the counts follow.",
    )

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise forms.ValidationError("Choose a moment in the future, or leave empty for a ban.")
        return until


def ban_readers_page(modeladmin, request, readers, *, action: str):
    """The ban actions' intermediate page: a reason, an optional end, and whether to hide comments.

    Staff accounts are never banned from here; the page says which were left out.
    """
    readers = list(readers.order_by("pk"))
    staff = [r for r in readers if r.is_staff]
    readers = [r for r in readers if not r.is_staff]
    form = BanForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid() and readers:
        hide = form.cleaned_data["hide_comments"]
        hidden = Comment.objects.filter(
            author__in=readers, status__in=[Comment.Status.APPROVED, Comment.Status.PENDING], is_deleted=False
        ).count() if hide else 0
        for reader in readers:
            services.ban_reader(
                reader=reader, moderator=request.user, reason=form.cleaned_data["reason"],
                until=form.cleaned_data["until"], hide_comments=hide,
            )
        kind = "Suspended" if form.cleaned_data["until"] else "Banned"
        names = ", ".join(public_name_of(r) for r in readers)
        modeladmin.message_user(
            request, f"{kind} {len(readers)} reader(s): {names}." + (f" {hidden} comment(s) hidden." if hidden else ""),
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Ban or suspend readers",
        "opts": modeladmin.model._meta,
        "form": form,
        "readers": readers,
        "staff": staff,
        "action": action,
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/comments/ban_readers.html", context)


# --- Comments and the queue ---------------------------------------------------------------------


class ActiveBanFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "In force"), ("ended", "Lifted or expired")]

    def queryset(self, request, queryset):
        active = Ban.objects.active()
        if self.value() == "active":
            return queryset.filter(pk__in=active)
        if self.value() == "ended":
            return queryset.exclude(pk__in=active)
        return queryset


@admin.register(Ban)
class BanAdmin(ModerationPermissions, ReadOnlyAdmin):
    list_display = ("reader_name", "kind", "reason", "until", "in_force", "created_at", "created_by", "lifted_at",
                    "lifted_by")
    list_filter = (ActiveBanFilter,)
    search_fields = ("reader__comments_profile__display_name", *user_search_fields("reader__"), "reason")
    list_select_related = ("reader__comments_profile", "created_by", "lifted_by")
    actions = ("lift",)

    @admin.display(description=_("reader"))
    def reader_name(self, ban):
        return reader_label(ban.reader)

    @admin.display(description="kind")
    def kind(self, ban):
        return "Suspension" if ban.until else "Ban"

    @admin.display(description="in force", boolean=True)
    def in_force(self, ban):
        return ban.is_active


    @admin.action(permissions=["ban"], description="Lift selected bans")
    def lift(self, request, queryset):
        lifted = 0
        for ban in queryset.filter(lifted_at__isnull=True):
            services.lift_ban(ban=ban, moderator=request.user)
            lifted += 1
        self.message_user(request, f"Lifted {lifted} ban(s).", messages.SUCCESS)


@admin.register(ReaderProfile)
class ReaderProfileAdmin(ModerationPermissions, admin.ModelAdmin):
    """Readers as the comments app knows them (everyone who commented, renamed or was given a
    pre-moderation rule): their public name, pre-moderation, and the ban actions. The site's own
    user admin stays the site's; a site may add ``ReaderProfileInline`` to it."""

    list_display = ("public_name", "account", "moderation", "created_at")
    list_filter = ("moderation",)
    search_fields = ("display_name", *user_search_fields("user__"))
    list_select_related = ("user",)
    fields = ("account", "display_name", "moderation", "created_at")
    readonly_fields = ("account", "moderation", "created_at")
    actions = ("ban", "premoderate_always", "trust", "premoderate_default")

    def has_add_permission(self, request):
        return False  # a profile is created when first needed (services.reader_profile)

    def has_delete_permission(self, request, obj=None):
        return False  # delete the user instead: the cascade keeps the counts exact

    @admin.display(description=_("public name"), ordering="display_name")
    def public_name(self, profile):
        return public_name_of(profile.user)

    @admin.display(description=_("account"))
    def account(self, profile):
        return profile.user.get_username()

    def save_model(self, request, obj, form, change):
        """The display name goes through services, so cached threads show the new name at once."""
        if "display_name" in form.changed_data:
            services.set_reader_display_name(reader=obj.user, display_name=obj.display_name)

    @staticmethod
    def _users(queryset):
        return get_user_model()._default_manager.filter(pk__in=queryset.values("user_id"))

    @admin.action(permissions=["ban"], description=_("Ban or suspend selected readers…"))
    def ban(self, request, queryset):
        return ban_readers_page(self, request, self._users(queryset), action="ban")

    def _set_moderation(self, request, queryset, moderation: str):
        for profile in queryset.select_related("user"):
            services.set_reader_moderation(reader=profile.user, moderator=request.user, moderation=moderation)
        label = ReaderProfile.Moderation(moderation).label
        self.message_user(request, f"{label}: {queryset.count()} reader(s).", messages.SUCCESS)

    @admin.action(permissions=["moderate"], description=_("Always pre-moderate selected readers"))
    def premoderate_always(self, request, queryset):
        self._set_moderation(request, queryset, ReaderProfile.Moderation.ALWAYS)

    @admin.action(permissions=["moderate"], description=_("Trust selected readers (never pre-moderate)"))
    def trust(self, request, queryset):
        self._set_moderation(request, queryset, ReaderProfile.Moderation.TRUSTED)

    @admin.action(permissions=["moderate"], description=_("Use the site's pre-moderation for selected readers"))
    def premoderate_default(self, request, queryset):
        self._set_moderation(request, queryset, ReaderProfile.Moderation.DEFAULT)


class ReaderProfileForm(forms.ModelForm):
    class Meta:
        model = ReaderProfile
        fields = ("display_name",)


class ReaderProfileFormSet(forms.BaseInlineFormSet):
    """Saves through ``services.set_reader_display_name`` (which creates the profile if needed)."""

    def save(self, commit=True):
        # What the admin's change message reads; nothing is saved by the formset itself.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if form.has_changed() and form.is_valid():
                profile = services.set_reader_display_name(reader=self.instance,
                                                           display_name=form.cleaned_data["display_name"])
                self.changed_objects.append((profile, ["display_name"]))
        return []


class ReaderProfileInline(admin.StackedInline):
    """For a site's own user admin, if it wants the display name there (the stand-alone service
    does, see comments_project/admin.py): the app never replaces a site's ``UserAdmin`` itself.
    Pre-moderation is set by the actions of the readers' list, so that the log records it."""

    model = ReaderProfile
    form = ReaderProfileForm
    formset = ReaderProfileFormSet
    fields = ("display_name", "moderation")
    readonly_fields = ("moderation",)
    can_delete = False
    max_num = 1
    verbose_name = _("comments profile")
    verbose_name_plural = _("comments profile")
