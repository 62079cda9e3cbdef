"""Rewrite old `reelforge.services.<module>` paths to their new homes (issue 14).

    python tools/rewrite_imports.py PATH...      # files or folders (*.py, *.toml, *.md, *.cfg)

Idempotent: a path that is already new is left alone, so it can be re-run on files that
changed on main after the restructure branched (they still import the old paths). Rewrites
`from reelforge.services import a, b` (one line per new module, aliased to the old name where
the module was renamed), `from reelforge.services.old import names`, every dotted reference
`reelforge.services.old[.attr]` (monkeypatch targets, import-linter contracts, `import` lines),
and `services/old.py` paths in prose.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restructure_map import MOVES, NAME_MOVES, NEW_PACKAGES

SUFFIXES = {".py", ".toml", ".md", ".cfg", ".ini", ".txt", ".yaml", ".yml"}

FROM_PKG = re.compile(
    r"^(?P<indent>[ \t]*)from reelforge\.services import (?P<names>\([^)]*\)|[^\n#]+?)"
    r"(?P<comment>[ \t]*#[^\n]*)?$",
    re.M,
)
FROM_MOD = re.compile(r"\bfrom reelforge\.services\.(?P<mod>\w+) import (?P<rest>\([^)]*\)|[^\n]+)")
DOTTED = re.compile(
    r"(?<![\w.])(?P<prefix>reelforge\.services\.|services\.)(?P<mod>\w+)(?P<tail>(?:\.\w+)*)"
)
SLASHED = re.compile(r"(?<![\w])services/(?P<mod>\w+)\.py\b")


def _is_new(mod: str, tail: str) -> bool:
    """`reelforge.services.<mod><tail>` already names the new layout."""
    if mod in NEW_PACKAGES and tail:
        return tail.split(".")[1] in NEW_PACKAGES[mod]
    return mod not in MOVES


def _from_pkg(m: re.Match[str]) -> str:
    names = [n.strip() for n in m["names"].strip("()").replace("\n", " ").split(",") if n.strip()]
    lines = []
    for entry in names:
        name, _, alias = entry.partition(" as ")
        name, alias = name.strip(), alias.strip() or name.strip()
        if name in NEW_PACKAGES and name not in MOVES:  # already a new package
            lines.append(f"from reelforge.services import {entry}")
            continue
        if name not in MOVES:
            lines.append(f"from reelforge.services import {entry}")
            continue
        pkg, _, leaf = MOVES[name].rpartition(".")
        lines.append(f"from {pkg} import {leaf}" + ("" if leaf == alias else f" as {alias}"))
    out = "\n".join(m["indent"] + line for line in lines)
    return out + (m["comment"] or "")


def _from_mod(m: re.Match[str]) -> str:
    mod = m["mod"]
    if mod not in MOVES:
        return m[0]
    if mod in NEW_PACKAGES:
        entries = m["rest"].strip("()").split(",")
        names = [n.strip().split(" as ")[0].strip() for n in entries if n.strip()]
        if names and all(n in NEW_PACKAGES[mod] for n in names):
            return m[0]  # importing the new package's submodules
    return f"from {MOVES[mod]} import {m['rest']}"


def _dotted(m: re.Match[str]) -> str:
    mod, tail = m["mod"], m["tail"]
    if _is_new(mod, tail):
        return m[0]
    new = MOVES[mod]
    if m["prefix"] == "services.":
        new = new.removeprefix("reelforge.")
    return new + tail


def _slashed(m: re.Match[str]) -> str:
    mod = m["mod"]
    if mod not in MOVES:
        return m[0]
    return MOVES[mod].removeprefix("reelforge.").replace(".", "/") + ".py"


ALIASED = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<pkg>reelforge[\w.]*) import (?P<new>\w+) as (?P<old>\w+)$", re.M
)


def _names(text: str) -> list[tokenize.TokenInfo]:
    """The code's NAME tokens (not strings or comments); [] where the text does not tokenize."""
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return []


def _drop_alias(text: str, m: re.Match[str]) -> str | None:
    """The text without the alias `m`, or None where dropping it is not safe."""
    new, old = m["new"], m["old"]
    if MOVES.get(old) != f"{m['pkg']}.{new}":
        return None
    text = text[: m.start()] + f"{m['indent']}from {m['pkg']} import {new}" + text[m.end() :]
    tokens = _names(text)
    if not tokens:
        return None
    line_no = text.count("\n", 0, m.start()) + 1
    spots = []
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.start[0] == line_no:
            continue
        prev, nxt = tokens[i - 1].string, tokens[i + 1].string
        if tok.string == new and prev != ".":
            return None  # `new` already means something else here
        if tok.string != old or prev == ".":
            continue
        if not (nxt == "." or (prev == "(" and nxt == ",")):
            return None  # `old` is also used another way (a local name, an argument)
        spots.append(tok.start)
    lines = text.splitlines(keepends=True)
    for row, col in reversed(spots):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old) :]
    return "".join(lines)


def _drop_aliases(text: str) -> str:
    """`from pkg import new as old` (left by a rename) becomes `from pkg import new`, with
    `old.attr` renamed `new.attr`, where the file uses `old` only that way and not `new`."""
    done = False
    while not done:
        done = True
        for m in ALIASED.finditer(text):
            changed = _drop_alias(text, m)
            if changed is not None:
                text, done = changed, False
                break
    return text


def rewrite(text: str, python: bool = True) -> str:
    text = FROM_PKG.sub(_from_pkg, text)
    # `from reelforge.services.x import` lines first, then mask them from the dotted pass
    out, pos = [], 0
    for m in FROM_MOD.finditer(text):
        out.append(DOTTED.sub(_dotted, text[pos : m.start()]))
        out.append(_from_mod(m))
        pos = m.end()
    out.append(DOTTED.sub(_dotted, text[pos:]))
    text = SLASHED.sub(_slashed, "".join(out))
    for name, (old, new) in NAME_MOVES.items():
        text = re.sub(
            rf"^([ \t]*)from {re.escape(old)} import {name}$",
            rf"\1from {new} import {name}",
            text,
            flags=re.M,
        )
    return _drop_aliases(text) if python else text


def files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [
                f
                for f in sorted(p.rglob("*"))
                if f.suffix in SUFFIXES
                and f.is_file()
                and ".venv" not in f.parts
                and "__pycache__" not in f.parts
            ]
        elif p.is_file():
            found.append(p)
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    me = {Path(__file__).resolve(), (Path(__file__).parent / "restructure_map.py").resolve()}
    changed = 0
    for f in files(argv):
        if f.resolve() in me:
            continue
        old = f.read_text(encoding="utf-8")
        new = rewrite(old, python=f.suffix == ".py")
        if new != old:
            f.write_text(new, encoding="utf-8")
            changed += 1
            print(f"rewrote {f}")
    print(f"{changed} file(s) changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
