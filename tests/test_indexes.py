"""The indexes that keep the hot paths and the maintenance commands flat exist, on every
database (what docs/performance.md's Scale section EXPLAINs at 10⁶ users)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from drf_twostep.models import (
    DeliveredCode,
    LoginChallenge,
    OrganizationPolicy,
    PasskeyChallenge,
    RecoveryCode,
    SecurityEvent,
    TrustedDevice,
    TwoStepMethod,
    TwoStepProfile,
)

# (model, the columns an index must start with, who needs it)
NEEDED = [
    (TwoStepProfile, ["user_id"], "every authenticated request: the enforcement state"),
    (TwoStepProfile, ["setup_required_from"], "twostep_refresh, twostep_cleanup"),
    (TwoStepMethod, ["user_id", "status"], "login/, login/verify/, the members page"),
    (TwoStepMethod, ["status", "created_at"], "twostep_cleanup: set-ups never confirmed"),
    (LoginChallenge, ["digest"], "login/verify/: the challenge by its digest"),
    (LoginChallenge, ["expires_at"], "twostep_cleanup: expired challenges"),
    (RecoveryCode, ["digest"], "login/verify/ with a recovery code"),
    (RecoveryCode, ["user_id"], "the status object: the number of codes left"),
    (SecurityEvent, ["user_id", "created_at"], "a user's events page, newest first"),
    (DeliveredCode, ["method_id", "challenge_id"], "login/verify/ with a sent code"),
    (DeliveredCode, ["challenge_id"], "twostep_cleanup: a challenge's codes go with it"),
    (DeliveredCode, ["expires_at"], "twostep_cleanup: expired codes"),
    (TrustedDevice, ["digest"], "login/ with a device token"),
    (TrustedDevice, ["expires_at"], "twostep_cleanup: expired devices"),
    (PasskeyChallenge, ["login_challenge_id"], "twostep_cleanup: a challenge's ceremonies"),
    (OrganizationPolicy, ["organization_id"], "the members page, enforcement"),
]


def _indexed_column_lists(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        c["columns"] for c in constraints.values() if c["index"] or c["unique"] or c["primary_key"]
    ]


@pytest.mark.parametrize(
    "model, columns, needed_by",
    NEEDED,
    ids=[f"{m._meta.model_name}({','.join(c)})" for m, c, _ in NEEDED],
)
def test_the_index_a_hot_query_needs_exists(db, model, columns, needed_by):
    indexed = _indexed_column_lists(model)
    assert any(found[: len(columns)] == columns for found in indexed), (
        f"{model._meta.db_table} has no index on {columns} ({needed_by}); it has {indexed}"
    )


def test_the_members_page_finds_an_organizations_members_by_an_index(db):
    """The default memberships (Django's user-group table): by group, not by a full scan."""
    through = get_user_model().groups.through
    indexed = _indexed_column_lists(through)
    assert any(found[:1] == ["group_id"] for found in indexed), indexed
