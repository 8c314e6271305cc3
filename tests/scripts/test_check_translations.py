"""scripts/check_translations.py (run by `make lint`) fails on a string marked in the code
but missing from a catalog, on an untranslated or fuzzy entry, and on a stale .mo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT / "scripts" / "check_translations.py"
SKIPPED = shutil.ignore_patterns(
    ".venv", "node_modules", "staticfiles", ".git", "__pycache__", "*_cache", "*.sqlite3*",
    "tests", "bench",
)  # fmt: skip

pytestmark = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project to break (the checker reads the directory it is given)."""
    copy = tmp_path / "handoff"
    shutil.copytree(PROJECT, copy, ignore=SKIPPED)
    return copy


def check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(project)], capture_output=True, text=True, timeout=240
    )


def german(project: Path) -> Path:
    return project / "locale" / "de" / "LC_MESSAGES" / "django.po"


def test_the_shipped_catalogs_pass(project: Path) -> None:
    result = check(project)

    assert result.returncode == 0, result.stderr


def test_a_marked_string_missing_from_the_catalogs_fails(project: Path) -> None:
    (project / "support" / "new_feature.py").write_text(
        "from django.utils.translation import gettext_lazy as _\n\n"
        'GREETING = _("A greeting nobody translated yet")\n'
    )

    result = check(project)

    assert result.returncode == 1
    assert "not in the catalog: 'A greeting nobody translated yet'" in result.stderr
    assert "locale/ar/LC_MESSAGES/django.po" in result.stderr


def test_a_stale_mo_fails(project: Path) -> None:
    po = german(project)
    po.write_text(
        po.read_text().replace('msgstr "Nicht gefunden."', 'msgstr "Leider nicht gefunden."')
    )

    result = check(project)

    assert result.returncode == 1
    assert "locale/de/LC_MESSAGES/django.mo: stale" in result.stderr


def test_an_untranslated_entry_fails(project: Path) -> None:
    po = german(project)
    po.write_text(po.read_text().replace('msgstr "Nicht gefunden."', 'msgstr ""'))

    result = check(project)

    assert result.returncode == 1
    assert "untranslated: 'Not found.'" in result.stderr


def test_a_fuzzy_entry_fails(project: Path) -> None:
    po = german(project)
    po.write_text(po.read_text().replace('msgid "Not found."', '#, fuzzy\nmsgid "Not found."', 1))

    result = check(project)

    assert result.returncode == 1
    assert "fuzzy: 'Not found.'" in result.stderr
