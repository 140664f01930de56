"""Sphinx configuration of the drf-twostep documentation (Markdown through MyST)."""

import sys
from pathlib import Path

import django
from django.conf import settings

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]

# autodoc imports the package, which needs configured settings.
settings.configure(
    SECRET_KEY="docs-not-secret",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "rest_framework.authtoken",
        "drf_twostep",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()

import drf_twostep  # noqa: E402

project = "drf-twostep"
author = "drf-twostep contributors"
copyright = "drf-twostep contributors"  # noqa: A001 - the name Sphinx reads
release = drf_twostep.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "settings_page",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]

# Links to headings, as on GitHub: [text](settings.md#issuer_name).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}

html_theme = "furo"
html_title = f"drf-twostep {release}"

# The HTTP contract (API.md, kept identical to the contract it is copied from) shows JSON with
# placeholders such as <method>; Pygments then falls back to plain text, which is fine.
suppress_warnings = ["misc.highlighting_failure"]
