"""Plain forms for the server-rendered pages and for allauth's sign-up."""

from django import forms
from django.contrib.auth.hashers import make_password

from comments import conf, services
from comments.models import MAX_ID, Flag


class SignupForm(forms.Form):
    """Extra sign-up field (allauth's ACCOUNT_SIGNUP_FORM_CLASS): the public display name."""

    display_name = forms.CharField(
        max_length=50,
        label="Display name",
        help_text="Shown on your comments. Your email address is never shown.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )

    def clean_display_name(self):
        name = self.cleaned_data["display_name"].strip()
        if not name or "\x00" in name:
            raise forms.ValidationError("Choose a name to show on your comments.")
        return name

    def _post_clean(self):
        """Sign-up with an email that has an account already costs what a new account costs.

        allauth (ACCOUNT_PREVENT_ENUMERATION) answers both alike, but only a new account's
        password is hashed (~0.3 s of PBKDF2), so the time of the answer told who has an account
        (issue 16.10). A valid form for a taken email hashes the password once too, and throws
        the hash away. Django calls this hook after ``clean()`` (allauth's password checks included).
        """
        super()._post_clean()
        if not self.errors and getattr(self, "account_already_exists", False):
            make_password(self.cleaned_data.get("password1") or "")

    def signup(self, request, user):
        services.set_reader_display_name(reader=user, display_name=self.cleaned_data["display_name"])


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Your comment",
        widget=forms.Textarea(attrs={"rows": 4}),
        strip=False,
        error_messages={"required": "Write something before posting."},
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1, max_value=MAX_ID)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].max_length = conf.max_length()
        self.fields["body"].widget.attrs["maxlength"] = conf.max_length()

    # The body's own rules (blank once normalized, markup-only, bad characters) are the
    # service's: the views put its InvalidComment on this field, so bleach runs once per post.


class FlagForm(forms.Form):
    reason = forms.ChoiceField(choices=Flag.Reason.choices, widget=forms.RadioSelect, label="Why?")
    note = forms.CharField(max_length=500, required=False, label="Anything to add? (optional)",
                           widget=forms.Textarea(attrs={"rows": 2}))
