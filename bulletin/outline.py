"""The bulletin's outline: which section files make the bulletin, in which order.

One list in one file, ``templates/outline.toml``, that an editor can read and change. A
section is in the bulletin because it is listed there, not because a file happens to be
in ``templates/sections/``: a deleted file is then an error instead of a silently missing
section, and a stray copy ("06-workload copy.md.j2") an error instead of a section
printed twice.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from bulletin import confine
from bulletin.faults import Fault, TemplateFaults, make_fault, shown_path, suggest

OUTLINE = "outline.toml"
SECTIONS = "sections"
KINDS = (".md.j2", ".html.j2")


def _line(text: str, needle: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return None


def outline_faults(templates_dir: Path) -> tuple[list[str], list[Fault]]:
    """The listed section templates ('sections/<file>') and every fault in the outline."""
    path = Path(templates_dir) / OUTLINE
    folder = Path(templates_dir) / SECTIONS
    where = shown_path(path)
    try:
        text = confine.read_text(path, (Path(templates_dir),))
    except confine.OutsideError as exc:
        return [], [Fault(where, None, str(exc))]
    except FileNotFoundError:
        return [], [Fault(where, None, "the outline file is missing",
                          "Create it with the list of section files in print order: "
                          'sections = ["00-cover.html.j2", ...] (see docs/editing.md).')]
    try:
        listed = tomllib.loads(text).get("sections")
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        return [], [make_fault(path, text, line, f"the outline is not valid TOML ({exc})",
                               "Each file name goes in double quotes, followed by a comma, "
                               "inside sections = [ ... ].")]
    if not isinstance(listed, list) or not all(isinstance(x, str) for x in listed):
        return [], [Fault(where, None, "the outline needs a list of file names",
                          'Write sections = ["00-cover.html.j2", "01-credits.html.j2", ...].')]
    on_disk = sorted(p.name for p in folder.iterdir()
                     if not p.name.startswith(".")) if folder.is_dir() else []
    faults: list[Fault] = []
    seen: set[str] = set()
    for name in listed:
        line = _line(text, f'"{name}"')
        if name in seen:
            faults.append(make_fault(path, text, line, f"'{name}' is listed twice",
                                     "List each section once.", word=name))
        seen.add(name)
        if not name.endswith(KINDS) or "/" in name or "\\" in name:
            faults.append(make_fault(path, text, line,
                                     f"'{name}' is not a section file name",
                                     "A section is a file in templates/sections/ whose name "
                                     "ends in .md.j2 (Markdown) or .html.j2 (HTML).", word=name))
        elif name not in on_disk:
            unlisted = [n for n in on_disk if n not in listed]
            faults.append(make_fault(
                path, text, line,
                f"'{name}' is listed but there is no such file in {shown_path(folder)}",
                suggest(name, unlisted) or "Put the file back, or delete this line to drop "
                "the section from the bulletin.", word=name))
    for name in on_disk:
        if name not in seen:
            copy = " copy" in name.lower() or "(" in name or name.endswith("~")
            hint = ("It looks like a copy of another section: delete it, or list it in "
                    f"{where} to print it." if copy else
                    f"List it in {where} where it belongs in the bulletin, or delete it.")
            faults.append(Fault(shown_path(folder / name), None,
                                f"the file '{name}' is not in the outline ({where})", hint))
    sections = [f"{SECTIONS}/{n}" for n in dict.fromkeys(listed)
                if n.endswith(KINDS) and n in on_disk]
    return sections, faults


def section_files(templates_dir: Path) -> list[str]:
    """The section templates in print order, as the outline lists them; any fault in the
    outline stops the build (`TemplateFaults`, exit code 2)."""
    sections, faults = outline_faults(templates_dir)
    if faults:
        raise TemplateFaults(faults)
    return sections
