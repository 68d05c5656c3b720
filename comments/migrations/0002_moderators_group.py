"""The "Moderators" group with exactly the desk's permissions (a data migration)."""


from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATORS = "Moderators"

# Exactly what the moderation desk needs: read comments, flags, readers, articles and the log;
# act through the custom permissions (which the admin actions require); manage the word lists.
# Nothing on auth (users' passwords, groups) and no change permission on readers' profiles or
# articles.
MODERATOR_PERMISSIONS = [
    "view_comment", "moderate_comment", "view_moderationqueue",
    "view_flag",
    "view_ban", "ban_reader",
    "view_bannedword", "add_bannedword", "change_bannedword", "delete_bannedword",
    "view_moderationlogentry",
    "view_article", "moderate_article",
    "view_readerprofile",
]


def create_moderators_group(apps, schema_editor):
    """Create the permissions now (post_migrate has not run yet), then the group with them."""
    create_permissions(global_apps.get_app_config("comments"), apps=apps, verbosity=0,
                       using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    permissions = Permission.objects.filter(content_type__app_label="comments", codename__in=MODERATOR_PERMISSIONS)
    assert permissions.count() == len(MODERATOR_PERMISSIONS), "a moderator permission is missing"
    group.permissions.set(permissions)


def delete_moderators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=MODERATORS).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("comments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_moderators_group, delete_moderators_group),
    ]
