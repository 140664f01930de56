"""The package's migrations match its models and run both ways."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from drf_twostep.models import (
    LoginChallenge,
    RecoveryCode,
    SecurityEvent,
    TwoStepMethod,
    TwoStepProfile,
)


def test_models_have_no_missing_migrations(db):
    out = StringIO()
    try:
        call_command(
            "makemigrations", "drf_twostep", "--check", "--dry-run", stdout=out, stderr=out
        )
    except SystemExit:  # --check exits non-zero when a migration would be written
        pytest.fail(f"drf_twostep needs a new migration:\n{out.getvalue()}", pytrace=False)
    assert "No changes detected" in out.getvalue()


def _tables():
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


MODEL_TABLES = {
    m._meta.db_table
    for m in (TwoStepProfile, TwoStepMethod, RecoveryCode, LoginChallenge, SecurityEvent)
}


@pytest.mark.django_db(transaction=True)
def test_migrations_unapply_and_reapply():
    assert MODEL_TABLES <= _tables()
    call_command("migrate", "drf_twostep", "zero", verbosity=0)
    assert not MODEL_TABLES & _tables()
    call_command("migrate", "drf_twostep", verbosity=0)
    assert MODEL_TABLES <= _tables()
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
