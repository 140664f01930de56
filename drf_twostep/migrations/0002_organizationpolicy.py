import django.db.models.deletion
from django.db import migrations, models

from drf_twostep.models import organization_model_label


class Migration(migrations.Migration):
    # The organization model comes from DRF_TWOSTEP["ORGANIZATION_MODEL"], so this migration
    # follows the project's choice (default: auth.Group), as swappable user models do.
    dependencies = [
        ("drf_twostep", "0001_initial"),
        migrations.swappable_dependency(organization_model_label()),
    ]

    operations = [
        migrations.CreateModel(
            name="OrganizationPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("required", models.BooleanField(default=False, verbose_name="2SV required")),
                ("grace_period_days", models.PositiveIntegerField(default=0, verbose_name="grace period (days)")),
                ("required_since", models.DateTimeField(blank=True, null=True, verbose_name="required since")),
                ("enforced_from", models.DateTimeField(blank=True, editable=False, null=True)),
                ("allowed_kinds", models.CharField(default="", max_length=255, verbose_name="allowed methods")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="two_step_policy",
                        to=organization_model_label(),
                        verbose_name="organization",
                    ),
                ),
            ],
            options={
                "verbose_name": "organization 2SV policy",
                "verbose_name_plural": "organization 2SV policies",
                "indexes": [models.Index(fields=["required", "enforced_from"], name="twostep_policy_enforced")],
            },
        ),
    ]
