"""Fail when the translation catalogs are not complete and fresh (run by `make lint`).

Three checks, for every shipped language but English (the source language) and both
domains (`django`: Python and templates; `djangojs`: the console's script):

1. Missing: `make messages` is run on a temporary copy of the project, and every entry it
   finds (a marked string) must already be in the committed catalog. A string marked in
   the code but never extracted fails here.
2. Untranslated or fuzzy: every entry of a committed catalog has a translation (all plural
   forms) and no `fuzzy` flag; the header names the catalog's plural forms.
3. Stale .mo: each committed .mo holds exactly what msgfmt makes of its .po now. Catalogs
   are compared after parsing (Python's gettext reads both), not byte for byte: msgfmt's
   output is not promised to be identical across versions.

Usage: `python scripts/check_translations.py [PROJECT_DIR]` (default: this project).
Exit status 0 when all is well, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# settings.LANGUAGES but English, in gettext's spelling (pt-br → pt_BR).
LOCALES = ["de", "fr", "es", "pt_BR", "ar"]
DOMAINS = ["django", "djangojs"]
# What `make messages` skips (Makefile MESSAGES_IGNORE) and what is no source: the copy
# leaves these out.
NOT_COPIED = shutil.ignore_patterns(
    ".venv",
    "node_modules",
    "staticfiles",
    ".git",
    "__pycache__",
    "*_cache",
    "*.sqlite3*",
    "bench",
    "tests",
)


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.context, self.msgid)


def _unquote(line: str) -> str:
    return ast.literal_eval(line)  # a PO string is a C-like quoted string


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header, msgid "", included; obsolete ones not)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    flags: set[str] = set()

    def finish() -> None:
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            if not line:
                finish()
                flags = set()
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if current is None or target is None:
                raise ValueError(f"{path}: a string continues nothing: {line}")
            text = _unquote(line)
            name, index = target
            if name == "msgid":
                current.msgid += text
            elif name == "msgctxt":
                current.context = (current.context or "") + text
            elif name == "msgid_plural":
                current.plural = (current.plural or "") + text
            else:
                current.translations[index] += text
            continue
        if (
            keyword in ("msgctxt", "msgid")
            and current is not None
            and (current.translations or keyword == "msgctxt")
        ):
            finish()
        if keyword == "msgctxt":
            current = Entry(msgid="", context=_unquote(rest), flags=flags)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            if current is None:
                current = Entry(msgid="", flags=flags)
            current.msgid = _unquote(rest)
            target = ("msgid", 0)
        elif keyword == "msgid_plural" and current is not None:
            current.plural = _unquote(rest)
            target = ("msgid_plural", 0)
        elif keyword.startswith("msgstr") and current is not None:
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            while len(current.translations) <= index:
                current.translations.append("")
            current.translations[index] = _unquote(rest)
            target = ("msgstr", index)
        else:
            raise ValueError(f"{path}: cannot read line: {raw}")
    finish()
    return entries


def catalog_of_mo(path: Path) -> dict[object, str]:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def compile_po(po: Path, mo: Path) -> None:
    subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True, capture_output=True)


def run_makemessages(project: Path) -> None:
    """`make messages` on `project` (a copy): Django's own extraction, same options."""
    # The product's settings, whatever the caller runs under (pytest: tests.settings).
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    ignore = [
        "--ignore=.venv",
        "--ignore=tests",
        "--ignore=bench",
        "--ignore=node_modules",
        "--ignore=staticfiles",
        "--ignore=locale",
    ]
    locales = [arg for code in LOCALES for arg in ("-l", code)]
    base = [sys.executable, "manage.py", "makemessages", *locales, *ignore]
    base += ["--add-location=file", "--no-obsolete"]
    js = [*base, "-d", "djangojs", "--ignore=static/widget"]
    for command in (base, js):
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"makemessages failed:\n{done.stderr}")


def extracted_keys(project: Path) -> dict[tuple[str, str], set[tuple[str | None, str]]]:
    """(locale, domain) → the keys `make messages` finds in `project`'s code now."""
    with tempfile.TemporaryDirectory(prefix="handoff-messages-") as scratch:
        copy = Path(scratch) / "project"
        shutil.copytree(project, copy, ignore=NOT_COPIED)
        # Start from empty catalogs: whatever appears was marked in the code.
        shutil.rmtree(copy / "locale", ignore_errors=True)
        for code in LOCALES:
            (copy / "locale" / code / "LC_MESSAGES").mkdir(parents=True)
        run_makemessages(copy)
        found: dict[tuple[str, str], set[tuple[str | None, str]]] = {}
        for code in LOCALES:
            for domain in DOMAINS:
                po = copy / "locale" / code / "LC_MESSAGES" / f"{domain}.po"
                keys = {e.key for e in parse_po(po) if e.msgid} if po.exists() else set()
                found[(code, domain)] = keys
        return found


def problems_of(project: Path) -> list[str]:
    problems: list[str] = []
    extracted = extracted_keys(project)
    for code in LOCALES:
        for domain in DOMAINS:
            po = project / "locale" / code / "LC_MESSAGES" / f"{domain}.po"
            mo = po.with_suffix(".mo")
            wanted = extracted[(code, domain)]
            if not po.exists():
                if wanted:
                    problems.append(f"{po}: missing ({len(wanted)} strings are marked)")
                continue
            entries = parse_po(po)
            have = {e.key for e in entries if e.msgid}
            for context, msgid in sorted(wanted - have, key=lambda k: (k[1], k[0] or "")):
                where = f" (context {context!r})" if context else ""
                problems.append(f"{po}: not in the catalog{where}: {msgid!r}; run make messages")
            problems.extend(_entry_problems(po, entries))
            problems.extend(_mo_problems(po, mo))
    return problems


def _entry_problems(po: Path, entries: list[Entry]) -> list[str]:
    problems: list[str] = []
    header = next((e for e in entries if not e.msgid and e.context is None), None)
    if (
        header is None
        or "fuzzy" in header.flags
        or "Plural-Forms:" not in "".join(header.translations)
    ):
        problems.append(f"{po}: the header is missing, fuzzy or names no Plural-Forms")
    for entry in entries:
        if not entry.msgid:
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"{po}: fuzzy: {entry.msgid!r}")
        elif not entry.translations or not all(entry.translations):
            problems.append(f"{po}: untranslated: {entry.msgid!r}")
    return problems


def _mo_problems(po: Path, mo: Path) -> list[str]:
    if not mo.exists():
        return [f"{mo}: missing; run make compilemessages"]
    with tempfile.TemporaryDirectory(prefix="handoff-mo-") as scratch:
        fresh = Path(scratch) / "fresh.mo"
        try:
            compile_po(po, fresh)
        except subprocess.CalledProcessError as error:
            return [f"{po}: msgfmt --check fails: {error.stderr.decode(errors='replace')}"]
        if catalog_of_mo(fresh) != catalog_of_mo(mo):
            return [f"{mo}: stale (differs from its .po); run make compilemessages"]
    return []


def main(argv: list[str]) -> int:
    project = Path(argv[1]).resolve() if len(argv) > 1 else PROJECT
    problems = problems_of(project)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} translation problem(s): see docs/languages.md", file=sys.stderr)
        return 1
    print("Translations: complete and compiled.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
