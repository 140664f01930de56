"""
Queries compiled to SQL once and run many times.

The ORM compiles a queryset anew each time it runs, and for a look-up by key that compiling
costs several times the query itself: on the token look-up of every request it was most of
what authentication cost. ``CompiledQuery`` compiles a queryset built around a placeholder
once per database, then runs that SQL with the real value and builds the instances (with the
objects of ``select_related``) as the ORM does, with the backend's converters.

Only querysets of a simple shape are compiled: one model, forward ``select_related`` one
level deep, annotations (set on the instance, as the ORM sets them), and the value as
exactly one parameter, on which nothing else depends: the queryset is built twice, around
two placeholders, and the two must differ in that parameter alone. For anything else
``get`` raises ``NotCompilable`` and the caller runs its queryset through the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models.expressions import Col

_PLACEHOLDER = "drf-twostep:compiled-query-placeholder"
_OTHER_PLACEHOLDER = "drf-twostep:compiled-query-other-placeholder"


class NotCompilable(Exception):
    """The queryset is not of a shape that ``CompiledQuery`` runs; use the ORM."""


@dataclass(frozen=True)
class _Part:
    """Where one model's columns are in a row, and how its instance is attached."""

    model: Any
    attnames: tuple[str, ...]
    start: int
    end: int
    pk_index: int
    setters: tuple[Callable, Callable] | None  # (parent -> this, this -> parent)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    value_index: int
    parts: tuple[_Part, ...]
    annotations: tuple[tuple[str, int], ...]  # (name, column)
    # (column, converters, expression); a converter bound to the compiling connection's
    # ``ops`` is kept unbound and bound again to the connection that runs the query.
    converters: tuple[tuple[int, tuple[tuple[bool, Callable], ...], Any], ...]


class CompiledQuery:
    """
    ``CompiledQuery(build)``: ``build(value)`` returns the queryset for ``value`` and must
    depend on nothing else (it is built once per database, with a placeholder).
    ``get(value, using)`` returns the first instance or None.
    """

    def __init__(self, build: Callable[[Any], Any]):
        self.build = build
        self._compiled: dict[str, _Compiled | None] = {}

    def get(self, value, using: str):
        if using not in self._compiled:
            self._compiled[using] = self._compile(using)
        compiled = self._compiled[using]
        if compiled is None:
            raise NotCompilable()
        params = list(compiled.params)
        params[compiled.value_index] = value
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for index, converters, expression in compiled.converters:
            for on_ops, converter in converters:
                if on_ops:
                    row[index] = converter(connection.ops, row[index], expression, connection)
                else:
                    row[index] = converter(row[index], expression, connection)
        main, *related = compiled.parts
        instance = main.model.from_db(using, main.attnames, row[main.start : main.end])
        for part in related:
            other = None
            if row[part.pk_index] is not None:
                other = part.model.from_db(using, part.attnames, row[part.start : part.end])
            assert part.setters is not None  # every related part has them
            to_other, to_instance = part.setters
            to_other(instance, other)
            if other is not None:
                to_instance(other, instance)
        for name, index in compiled.annotations:
            setattr(instance, name, row[index])
        return instance

    def _compile(self, using: str) -> _Compiled | None:
        query = self.build(_PLACEHOLDER).query
        if query.is_sliced or query.distinct or query.combinator:
            return None
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = tuple(params)
        if params.count(_PLACEHOLDER) != 1:
            return None
        # Built again around another placeholder, the queryset must differ in that one
        # parameter alone: nothing else may depend on the value, or on the time, say.
        other_sql, other_params = (
            self.build(_OTHER_PLACEHOLDER).query.get_compiler(using=using).as_sql()
        )
        value_index = params.index(_PLACEHOLDER)
        if other_sql != sql or tuple(other_params) != (
            params[:value_index] + (_OTHER_PLACEHOLDER,) + params[value_index + 1 :]
        ):
            return None
        select = compiler.select
        annotations = tuple(compiler.annotation_col_map.items())
        info = compiler.klass_info
        found = [_part(info, select, None)]
        for related in info.get("related_klass_infos", ()):
            if related["reverse"] or related["from_parent"] or related["related_klass_infos"]:
                return None
            found.append(
                _part(related, select, (related["local_setter"], related["remote_setter"]))
            )
        parts = [part for part in found if part is not None]
        if len(parts) != len(found):
            return None
        # Every column belongs to one instance or is one annotation.
        columns = [index for part in parts for index in range(part.start, part.end)]
        if sorted(columns + [index for _, index in annotations]) != list(range(len(select))):
            return None
        if not all(isinstance(select[index][0], Col) for index in columns):
            return None
        ops = compiler.connection.ops
        converters = []
        for index, (found, expression) in compiler.get_converters(
            [column for column, _, _ in select]
        ).items():
            unbound = tuple(
                (True, found_converter.__func__)
                if getattr(found_converter, "__self__", None) is ops
                else (False, found_converter)
                for found_converter in found
            )
            converters.append((index, unbound, expression))
        return _Compiled(
            sql=sql,
            params=params,
            value_index=value_index,
            parts=tuple(parts),
            annotations=annotations,
            converters=tuple(converters),
        )


def _part(info, select, setters) -> _Part | None:
    fields = info["select_fields"]
    if not fields or fields != list(range(fields[0], fields[-1] + 1)):
        return None
    model = info["model"]
    attnames = tuple(select[index][0].target.attname for index in fields)
    if model._meta.pk.attname not in attnames:
        return None
    return _Part(
        model=model,
        attnames=attnames,
        start=fields[0],
        end=fields[-1] + 1,
        pk_index=fields[0] + attnames.index(model._meta.pk.attname),
        setters=setters,
    )
