"""Read a MadGraph/SLHA param card: ``BLOCK`` entries (``MASS``, ``SMINPUTS``, ``YUKAWA``, ...) and ``DECAY`` lines.

Block names, keywords and comments are case-insensitive (SLHA 1, as MadGraph writes and reads them). Only what
the model asks for is required; :meth:`ParamCard.value` names the file and the field when an entry is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinn_dist.errors import TinnError

__all__ = ["ParamCard", "read_param_card"]


@dataclass(frozen=True, slots=True)
class ParamCard:
    path: Path
    blocks: dict[str, dict[tuple[int, ...], float]]   # lower-case block name -> integer key(s) -> value
    decays: dict[int, float]                           # PDG -> total width

    def value(self, block: str, key: int | tuple[int, ...], name: str) -> float:
        """The entry ``key`` of ``block`` (``name`` is the parameter it defines, for the error message)."""
        k = key if isinstance(key, tuple) else (key,)
        entries = self.blocks.get(block.lower())
        if entries is None:
            raise TinnError(f"{self.path}: missing block {block.upper()} (needed for {name})")
        if k not in entries:
            where = " ".join(str(i) for i in k)
            raise TinnError(f"{self.path}: block {block.upper()} has no entry {where} ({name})")
        return entries[k]

    def width(self, pdg: int, name: str) -> float:
        """The total width of particle ``pdg`` from its ``DECAY`` line."""
        if pdg not in self.decays:
            raise TinnError(f"{self.path}: missing line 'DECAY {pdg} <width>' ({name})")
        return self.decays[pdg]


def _number(text: str, path: Path, lineno: int, what: str) -> float:
    try:
        return float(text.replace("d", "e").replace("D", "e"))
    except ValueError:
        raise TinnError(f"{path}:{lineno}: {what} {text!r} is not a number") from None


def read_param_card(path: Path | str) -> ParamCard:
    """Parse an SLHA param card into blocks and decay widths (no defaults: a missing file is an error)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise TinnError(f"{path}: cannot read param card ({exc.strerror})") from None
    blocks: dict[str, dict[tuple[int, ...], float]] = {}
    decays: dict[int, float] = {}
    current: dict[tuple[int, ...], float] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        keyword = fields[0].lower()
        if keyword == "block":
            if len(fields) < 2:
                raise TinnError(f"{path}:{lineno}: BLOCK line without a block name")
            current = blocks.setdefault(fields[1].lower(), {})
        elif keyword == "decay":
            if len(fields) < 3:
                raise TinnError(f"{path}:{lineno}: expected 'DECAY <pdg> <width>', got {line!r}")
            try:
                pdg = int(fields[1])
            except ValueError:
                raise TinnError(f"{path}:{lineno}: DECAY particle {fields[1]!r} is not a PDG code") from None
            decays[pdg] = _number(fields[2], path, lineno, f"width of {pdg}")
            current = None   # branching-ratio lines that follow a DECAY line are not model parameters
        elif current is not None:
            try:
                key = tuple(int(f) for f in fields[:-1])
            except ValueError:
                raise TinnError(f"{path}:{lineno}: expected '<index...> <value>' in a block, got {line!r}") from None
            if not key:
                raise TinnError(f"{path}:{lineno}: block entry {line!r} has no index")
            current[key] = _number(fields[-1], path, lineno, f"entry {' '.join(fields[:-1])}")
        elif fields[0][0].isdigit() or fields[0][0] in "+-.":
            continue   # branching ratios below a DECAY line
        else:
            raise TinnError(f"{path}:{lineno}: expected BLOCK, DECAY or a block entry, got {line!r}")
    return ParamCard(path=path, blocks=blocks, decays=decays)
