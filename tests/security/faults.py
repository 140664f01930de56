"""Database failures injected at the driver edge (``connection.execute_wrapper``)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import OperationalError, connection


@dataclass
class Injection:
    pattern: str
    nth: int
    seen: int = 0

    @property
    def fired(self) -> bool:
        return self.seen >= self.nth


def table_statement(verb: str, table: str) -> str:
    """A pattern for ``INSERT INTO``/``UPDATE``/``DELETE FROM`` on ``table``, with any quoting."""
    return rf"^\s*{verb}\s+[`\"]?{re.escape(table)}[`\"]?\s"


@contextmanager
def fail_on(pattern: str, *, nth: int = 1):
    """
    Make the ``nth`` SQL statement matching ``pattern`` (a regex, case-insensitive) fail with
    an ``OperationalError`` after the database ran it, as when the connection drops before
    the answer arrives: what it changed must be rolled back by the caller's transaction.
    """
    injection = Injection(pattern, nth)
    regex = re.compile(pattern, re.IGNORECASE)

    def wrapper(execute, sql, params, many, context):
        if regex.search(sql):
            injection.seen += 1
            if injection.seen == nth:
                execute(sql, params, many, context)
                raise OperationalError("injected failure")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield injection
