"""
CompiledQuery: SQL compiled once per database, instances built as the ORM builds them. Run on
every database of the matrix, so the backends' converters (SQLite's text datetimes and integer
booleans, MariaDB's naive datetimes) are exercised.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Value
from django.forms.models import model_to_dict
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from drf_twostep import authentication
from drf_twostep.authentication import TwoStepTokenAuthentication
from drf_twostep.compiled import CompiledQuery, NotCompilable


@pytest.fixture(autouse=True)
def _fresh_lookups():
    authentication._TOKEN_LOOKUPS.clear()
    yield
    authentication._TOKEN_LOOKUPS.clear()


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def token(user):
    user.last_login = timezone.now() - timedelta(days=3)
    user.is_staff = True
    user.save()
    return Token.objects.create(user=user)


def test_a_token_and_its_user_are_built_as_the_orm_builds_them(token, django_assert_num_queries):
    lookup = CompiledQuery(lambda key: Token.objects.select_related("user").filter(key=key))
    expected = Token.objects.select_related("user").get(key=token.key)
    for _ in range(2):  # compiled, then from the compiled SQL
        with django_assert_num_queries(1):
            found = lookup.get(token.key, using="default")
        with django_assert_num_queries(0):
            assert fields(found) == fields(expected)
            assert fields(found.user) == fields(expected.user)
            assert found.user.auth_token is found  # the reverse side is set too
    assert found._state.db == "default" and not found._state.adding
    assert found.created.tzinfo is not None and found.user.is_staff is True
    assert model_to_dict(found.user) == model_to_dict(expected.user)


def test_an_unknown_value_finds_nothing(token):
    lookup = CompiledQuery(lambda key: Token.objects.select_related("user").filter(key=key))
    assert lookup.get("0" * 40, using="default") is None
    assert lookup.get(token.key, using="default").pk == token.pk


def test_annotations_are_set_on_the_instance(token):
    lookup = CompiledQuery(
        lambda key: (
            Token.objects.select_related("user")
            .filter(key=key)
            .annotate(name=F("user__username"), seven=Value(7))
        )
    )
    found = lookup.get(token.key, using="default")
    assert (found.name, found.seven) == (token.user.username, 7)


@pytest.mark.parametrize(
    "build",
    [
        lambda key: Token.objects.filter(key=key)[:1],  # sliced
        lambda key: Token.objects.filter(key=key).distinct(),
        lambda key: Token.objects.filter(key__in=[key, key + "x"]),  # two parameters
        lambda key: get_user_model().objects.select_related("auth_token").filter(username=key),
        lambda key: Token.objects.filter(created__lt=timezone.now(), key=key).values("key"),
    ],
)
def test_other_shapes_are_left_to_the_orm(build, token):
    with pytest.raises(NotCompilable):
        CompiledQuery(build).get(token.key, using="default")


def test_token_authentication_answers_as_drf_does(token, user):
    ours, drf = TwoStepTokenAuthentication(), authentication.TokenAuthentication()
    assert ours.authenticate_credentials(token.key)[0].pk == user.pk
    for key in ["0" * 40, token.key + "0", ""]:
        with pytest.raises(AuthenticationFailed) as raised:
            ours.authenticate_credentials(key)
        with pytest.raises(AuthenticationFailed) as expected:
            drf.authenticate_credentials(key)
        assert raised.value.detail == expected.value.detail == "Invalid token."
    user.is_active = False
    user.save()
    with pytest.raises(AuthenticationFailed) as raised:
        ours.authenticate_credentials(token.key)
    assert raised.value.detail == "User inactive or deleted."


class SlicedTokenAuthentication(TwoStepTokenAuthentication):
    """A token model whose manager the compiled look-up cannot take: the ORM answers."""

    class model(Token):
        class Meta:
            proxy = True
            app_label = "authtoken"

        class _Manager(Token._default_manager.__class__):
            def get_queryset(self):
                return super().get_queryset().filter(created__lte=timezone.now())

        objects = _Manager()


def test_a_token_model_the_look_up_cannot_take_goes_through_drf(token, user):
    auth = SlicedTokenAuthentication()
    found_user, found = auth.authenticate_credentials(token.key)
    assert found_user.pk == user.pk and found.pk == token.pk
    lookups = [lookup for (model, _), lookup in authentication._TOKEN_LOOKUPS.items()]
    assert lookups and all(None in lookup._compiled.values() for lookup in lookups)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_credentials("0" * 40)


def test_the_query_is_the_same_as_drfs_but_for_the_state(token, django_assert_num_queries):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as drf:
        authentication.TokenAuthentication().authenticate_credentials(token.key)
    with CaptureQueriesContext(connection) as ours:
        TwoStepTokenAuthentication().authenticate_credentials(token.key)
    (drf_sql,), (our_sql,) = [[q["sql"] for q in c.captured_queries] for c in (drf, ours)]
    # The same tables joined the same way, looked up by the same key.
    assert drf_sql.split(" FROM ")[-1].split(" LIMIT")[0] == our_sql.split(" FROM ")[-1]
