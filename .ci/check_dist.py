"""Check the archives that `python -m build` made: what each must and must not contain.

Usage: python .ci/check_dist.py DIST_DIR (holding one .tar.gz and one .whl).
The sdist carries everything needed to test and document the package; the wheel carries the
package with its templates, migrations, compiled translations and py.typed, and no tests.
"""

import fnmatch
import sys
import tarfile
import zipfile
from pathlib import Path

SDIST_REQUIRED = [
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "tox.ini",
    "drf_twostep/__init__.py",
    "drf_twostep/locale/fr/LC_MESSAGES/django.po",
    "drf_twostep/locale/fr/LC_MESSAGES/django.mo",
    "tests/conftest.py",
    "tests/test_*.py",
    "tests/testapp/__init__.py",
    "docs/conf.py",
    "docs/index.md",
    "docs/API.md",
    "docs/_ext/*.py",
    "tests_clients/journey_py.py",
    "tests_clients/journey.ts",
]
SDIST_FORBIDDEN = [
    "*.pyc",
    "*/__pycache__/*",
    "docs/_build/*",
    ".venv/*",
    ".tox/*",
    "*.sqlite3",
    "tests_clients/node_modules/*",
]

WHEEL_REQUIRED = [
    "drf_twostep/__init__.py",
    "drf_twostep/py.typed",
    "drf_twostep/migrations/0001_initial.py",
    "drf_twostep/templates/drf_twostep/*",
    "drf_twostep/locale/fr/LC_MESSAGES/django.mo",
    "drf_twostep-*.dist-info/METADATA",
    "drf_twostep-*.dist-info/licenses/LICENSE",
]
# Only the package and its metadata: no tests, docs or example project.
WHEEL_ALLOWED_TOP = ["drf_twostep/*", "drf_twostep-*.dist-info/*"]
WHEEL_FORBIDDEN = ["*.pyc", "*/__pycache__/*", "*.po~"]


def check(kind, names, required, forbidden, allowed=None):
    problems = []
    for pattern in required:
        if not fnmatch.filter(names, pattern):
            problems.append(f"{kind}: nothing matches {pattern}")
    for pattern in forbidden:
        problems += [f"{kind}: must not contain {name}" for name in fnmatch.filter(names, pattern)]
    if allowed:
        for name in names:
            if not any(fnmatch.fnmatch(name, pattern) for pattern in allowed):
                problems.append(f"{kind}: must not contain {name}")
    return problems


def main(dist_dir):
    dist = Path(dist_dir)
    sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        sys.exit(f"expected one sdist and one wheel in {dist}, found {sdists + wheels}")
    with tarfile.open(sdists[0]) as tar:
        # Names inside an sdist start with "<name>-<version>/".
        sdist_names = [m.name.partition("/")[2] for m in tar.getmembers() if m.isfile()]
    with zipfile.ZipFile(wheels[0]) as whl:
        wheel_names = [name for name in whl.namelist() if not name.endswith("/")]
    problems = check("sdist", sdist_names, SDIST_REQUIRED, SDIST_FORBIDDEN)
    problems += check("wheel", wheel_names, WHEEL_REQUIRED, WHEEL_FORBIDDEN, WHEEL_ALLOWED_TOP)
    if problems:
        sys.exit("\n".join(problems))
    print(f"{sdists[0].name}: {len(sdist_names)} files; {wheels[0].name}: {len(wheel_names)} files")


if __name__ == "__main__":
    main(*sys.argv[1:])
