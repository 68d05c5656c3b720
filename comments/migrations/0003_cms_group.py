"""The "CMS" group with exactly what the newsroom's CMS needs to upsert articles (a data migration)."""


from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

CMS = "CMS"

# What ``PUT /api/v1/articles/{key}/`` checks: add to create, change to update, view to read
# back. Nothing on comments, readers, moderation or auth: a leaked CMS token can rename or close
# articles, no more.
CMS_PERMISSIONS = ["add_article", "change_article", "view_article"]


def create_cms_group(apps, schema_editor):
    """Create the permissions now (post_migrate has not run yet), then the group with them."""
    create_permissions(global_apps.get_app_config("comments"), apps=apps, verbosity=0,
                       using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=CMS)
    permissions = Permission.objects.filter(content_type__app_label="comments", codename__in=CMS_PERMISSIONS)
    assert permissions.count() == len(CMS_PERMISSIONS), "a CMS permission is missing"
    group.permissions.set(permissions)


def delete_cms_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=CMS).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("comments", "0002_moderators_group"),
    ]

    operations = [
        migrations.RunPython(create_cms_group, delete_cms_group),
    ]
