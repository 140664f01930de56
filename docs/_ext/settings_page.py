"""
Generate ``docs/settings.md`` from ``DEFAULTS`` in ``drf_twostep/settings.py``.

Each key is documented by the comment block right above it; keys that follow one another
without a comment of their own share the block above them. The default is the key's own
source text, so the page shows exactly what the code has. The Sphinx build regenerates the
page (``setup()`` below), ``python docs/_ext/settings_page.py`` rewrites it by hand, and
``tests/test_docs.py`` fails when the committed page differs from what this module renders.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "drf_twostep" / "settings.py"
PAGE = REPO / "docs" / "settings.md"

INTRO = """\
# Settings

<!-- Generated from DEFAULTS in drf_twostep/settings.py by docs/_ext/settings_page.py:
     edit the comments there, not this page. -->

drf-twostep reads one dict from your Django settings, `DRF_TWOSTEP`. Every key is optional;
a key you leave out has the default shown here. Values are read when they are used (never at
import time), so `override_settings(DRF_TWOSTEP=...)` works in tests. An unknown key fails
the system check `drf_twostep.E001`, and the other checks refuse values that cannot work
(`python manage.py check` lists them).

```python
DRF_TWOSTEP = {
    "ISSUER_NAME": "Demo Clinic",
    "TOTP_WINDOW": 1,
}
```

Import strings (`TOKEN_ISSUER`, `ADAPTER`, `METHOD_CLASSES`, `SMS_BACKEND`) are imported when
first used; a string that does not import fails a system check.
"""


@dataclass
class Entry:
    """One comment block and the keys it documents."""

    comment: list[str]
    keys: list[tuple[str, str]] = field(default_factory=list)  # (name, source of the default)


def _comment_above(lines: list[str], lineno: int) -> list[str]:
    """The ``#`` lines right above line ``lineno`` (1-based), without the ``#``."""
    block = []
    index = lineno - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.append(lines[index].strip()[1:].strip())
        index -= 1
    return block[::-1]


def parse(source: str) -> list[Entry]:
    """The entries of the ``DEFAULTS`` dict in ``source``, in order."""
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "DEFAULTS":
            defaults = node.value
            break
    else:
        raise ValueError("no DEFAULTS dict")
    if not isinstance(defaults, ast.Dict):
        raise ValueError("DEFAULTS is not a dict literal")
    entries: list[Entry] = []
    for key, value in zip(defaults.keys, defaults.values, strict=True):
        if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
            raise ValueError(f"line {value.lineno}: DEFAULTS keys must be string literals")
        comment = _comment_above(lines, key.lineno)
        if comment or not entries:
            entries.append(Entry(comment))
        entries[-1].keys.append((key.value, ast.get_source_segment(source, value) or ""))
    return entries


def undocumented(entries: list[Entry]) -> list[str]:
    """Keys that have no comment to document them."""
    return [name for entry in entries if not entry.comment for name, _ in entry.keys]


def _paragraphs(comment: list[str]) -> str:
    text = " ".join(line for line in comment if line)
    return text.strip()


def _anchor(entry: Entry) -> str:
    """The GitHub-style slug of the entry's heading (MyST makes the same)."""
    return "-".join(name.lower() for name, _ in entry.keys)


def render(source: str | None = None) -> str:
    """The Markdown of the settings page."""
    entries = parse(SOURCE.read_text(encoding="utf-8") if source is None else source)
    missing = undocumented(entries)
    if missing:
        raise ValueError(f"settings without a comment in DEFAULTS: {', '.join(missing)}")
    out = [INTRO, "## Summary\n", "| setting | default |", "|---|---|"]
    for entry in entries:
        anchor = _anchor(entry)
        for name, default in entry.keys:
            shown = f"`{default}`" if "\n" not in default else "(below)"
            out.append(f"| [`{name}`](#{anchor}) | {shown} |")
    out.append("\n## Reference")
    for entry in entries:
        out.append("\n### " + ", ".join(f"`{name}`" for name, _ in entry.keys) + "\n")
        out.append(_paragraphs(entry.comment) + "\n")
        body = "\n".join(f'"{name}": {default},' for name, default in entry.keys)
        out.append(f"```python\n{body}\n```")
    return "\n".join(out) + "\n"


def setup(app):
    """Sphinx: write the page before the sources are read, if it changed."""

    def write_page(app):
        text = render()
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            PAGE.write_text(text, encoding="utf-8")

    app.connect("builder-inited", write_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE.relative_to(REPO)}\n")
