"""Every row of every table as bytes, and every spelling a secret could be stored in."""

from __future__ import annotations

import base64
import datetime
import re

from django.db import connection


def database_cells(visited: set | None = None):
    """``(table, column, value)`` for every column of every row of every table; the names of
    the tables read are added to ``visited``."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if visited is not None:
                visited.add(table)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                yield from (
                    (table, column, value) for column, value in zip(columns, row, strict=True)
                )


def _as_bytes(value) -> bytes | None:
    if value is None or isinstance(value, (bool, datetime.date, datetime.time)):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def _base_encodings(data: bytes) -> set[bytes]:
    b32 = base64.b32encode(data)
    b64 = base64.b64encode(data)
    urlsafe = base64.urlsafe_b64encode(data)
    return {
        data.hex().encode(),
        b32,
        b32.rstrip(b"="),
        b64,
        b64.rstrip(b"="),
        urlsafe,
        urlsafe.rstrip(b"="),
    }


def _grouped(text: str, size: int) -> set[str]:
    groups = [text[i : i + size] for i in range(0, len(text), size)]
    return {sep.join(groups) for sep in ("-", " ")}


def spellings(text: str, raw: bytes | None = None) -> set[bytes]:
    """
    ``text`` (a secret as the user sees it) and ``raw`` (the bytes it stands for, if any) in
    every encoding a careless store could use: as is, without and with grouping dashes or
    spaces (groups of 3 and 4), and hex, base32 or base64 of the text or of ``raw``. Compared
    case-insensitively, so upper and lower case are both covered.
    """
    plain = text.replace("-", "").replace(" ", "")
    texts = {text, plain} | _grouped(plain, 4) | _grouped(plain, 3)
    found = set()
    for spelled in texts:
        found.add(spelled.encode())
        found |= _base_encodings(spelled.encode())
    if raw is not None:
        found.add(raw)
        found |= _base_encodings(raw)
    return found


def _contains(haystack: bytes, needle: bytes) -> bool:
    if needle.isdigit() or (needle.replace(b"-", b"").replace(b" ", b"").isdigit()):
        # Short digit strings also occur by chance inside hex digests and phone numbers, so a
        # code counts as found only as a whole token (not inside a longer run of letters and
        # digits): "123456", "code:123456", "123 456".
        pattern = rb"(?<![0-9A-Za-z])" + re.escape(needle) + rb"(?![0-9A-Za-z])"
        return re.search(pattern, haystack) is not None
    if needle.isascii() and needle.decode("ascii").isprintable():
        return needle.lower() in haystack.lower()
    return needle in haystack


def find_in_database(secrets: dict[str, set[bytes]]) -> list[str]:
    """Where any spelling of any of ``secrets`` (name -> spellings) occurs in the database."""
    hits = []
    for table, column, value in database_cells():
        if isinstance(value, int) and not isinstance(value, bool):
            # A code kept in a number column: compare numbers, not digit runs (from five
            # digits up, so that row ids and counters cannot stand in for a code).
            for name, needles in secrets.items():
                if any(n.isdigit() and int(n) == value >= 10**4 for n in needles):
                    hits.append(f"{name} as a number in {table}.{column}")
            continue
        data = _as_bytes(value)
        if data is None:
            continue
        for name, needles in secrets.items():
            for needle in needles:
                if _contains(data, needle):
                    hits.append(f"{name} as {needle!r} in {table}.{column}")
    return hits
