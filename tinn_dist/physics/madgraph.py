"""The ``madgraph`` backend: a compiled MadGraph standalone ``matrix2py`` module, one event at a time.

MadGraph's ``output standalone`` writes ``SubProcesses/P1_*/``; ``make matrix2py.so`` there builds an f2py
extension with ``initialisemodel(card)`` (reads the param card into Fortran common blocks) and
``get_value(p, alphas, nhel)`` (p shaped (4, N), Fortran order; nhel = -1 sums over helicities).

The Fortran state is global to the loaded shared object, so each P1 directory is loaded under its own
module name (``...<hash>.matrix2py``: the last component must stay ``matrix2py`` for ``PyInit_matrix2py`` to
be found) and two processes coexist in one Python process. A given P1 module holds one param card per process.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import MatrixElement
from tinn_dist.processes import Process

__all__ = ["MadGraphMatrixElement"]

_NHEL_SUM = -1  # get_value's helicity argument: -1 = sum over all helicities
_FORTRAN_PATH_LENGTH = 512  # initialisemodel's CHARACTER*512 PATH
_LOADED: dict[
    Path, tuple[ModuleType, Path, str]
] = {}  # module file -> (module, card path, card text) it holds


def _module_file(p1_dir: Path) -> Path:
    suffixes = importlib.machinery.EXTENSION_SUFFIXES
    candidates = sorted(
        f for f in p1_dir.glob("matrix2py*") if any(f.name == f"matrix2py{s}" for s in suffixes)
    )
    if not candidates and (p1_dir / "matrix2py.py").is_file():
        candidates = [p1_dir / "matrix2py.py"]  # a pure-Python stand-in with the same interface (tests)
    if not candidates:
        raise TinnError(
            f"{p1_dir}: no matrix2py module; expected matrix2py{suffixes[0]} (run `make matrix2py.so` in "
            "this "
            "MadGraph SubProcesses/P1_* directory)"
        )
    return candidates[0]


def _load(module_file: Path) -> ModuleType:
    digest = hashlib.sha1(str(module_file).encode()).hexdigest()[:16]
    name = f"tinn_dist.physics._madgraph_{digest}.matrix2py"
    spec = importlib.util.spec_from_file_location(name, module_file)
    if spec is None or spec.loader is None:
        raise TinnError(f"{module_file}: cannot be loaded as a Python module")
    # RTLD_LOCAL keeps each shared object's Fortran symbols (setpara_, common blocks) private to it, so a
    # second module binds to its own copies even if someone switched the interpreter to RTLD_GLOBAL.
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL)
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except ImportError as exc:
        raise TinnError(f"{module_file}: cannot be imported ({exc}); rebuild it for this Python") from None
    finally:
        sys.setdlopenflags(flags)
    sys.modules[name] = module
    return module


def _check_nexternal(p1_dir: Path, process: Process) -> None:
    inc = p1_dir / "nexternal.inc"
    if not inc.is_file():
        return
    match = re.search(r"PARAMETER\s*\(\s*NEXTERNAL\s*=\s*(\d+)\s*\)", inc.read_text(), re.IGNORECASE)
    if match and int(match.group(1)) != process.n_external:
        raise TinnError(
            f"{inc}: NEXTERNAL={match.group(1)}, but process {process.name} has {process.n_external} "
            "external legs; "
            f"expected the P1 directory of `{process.madgraph}`"
        )


def _check_pdg_order(module: ModuleType, module_file: Path, process: Process) -> None:
    """Some MadGraph modules list their legs (``get_pdg_order``); if so, the process must be among them."""
    get_pdg_order = getattr(module, "get_pdg_order", None)
    if get_pdg_order is None:
        return
    result = get_pdg_order()
    rows = np.atleast_2d(np.asarray(result[0] if isinstance(result, tuple) else result))
    n = process.n_external
    want = np.asarray(process.external)
    if not any(np.array_equal(row[:n], want) and not row[n:].any() for row in rows):
        raise TinnError(
            f"{module_file}: get_pdg_order() gives {rows.tolist()}, expected legs {list(process.external)} "
            f"of process {process.name}"
        )


class MadGraphMatrixElement(MatrixElement):
    """|M|^2 from MadGraph's ``matrix2py.get_value(p, alphas, -1)``; build it in the process that uses it."""

    def __init__(self, process: Process, p1_dir: Path, param_card: Path, alphas: float = 0.13) -> None:
        self.process = process
        self.alphas = float(alphas)
        p1_dir = Path(p1_dir).resolve()
        card = Path(param_card).resolve()
        # Everything is checked before initialisemodel: MadGraph's Fortran STOPs on a bad card and the whole
        # Python process exits silently with status 0.
        if not p1_dir.is_dir():
            raise TinnError(f"{p1_dir}: MadGraph P1 directory not found; expected <output>/SubProcesses/P1_*")
        module_file = _module_file(p1_dir)
        if not card.is_file():
            raise TinnError(f"{card}: param card not found")
        if not (card.parent / "ident_card.dat").is_file():
            raise TinnError(
                f"{card}: no ident_card.dat beside the param card, so MadGraph's initialisemodel would stop "
                "the program silently; use the Cards/param_card.dat of your MadGraph output (ident_card.dat "
                "is there)"
            )
        if len(str(card)) >= _FORTRAN_PATH_LENGTH:
            raise TinnError(
                f"{card}: path has {len(str(card))} characters; MadGraph's initialisemodel reads at most "
                f"{_FORTRAN_PATH_LENGTH - 1} (move the MadGraph output to a shorter path)"
            )
        _check_nexternal(p1_dir, process)
        card_text = card.read_text()
        if module_file in _LOADED:
            module, loaded_card, loaded_text = _LOADED[module_file]
            if loaded_text != card_text:
                raise TinnError(
                    f"{module_file}: already initialised in this process with {loaded_card}; a MadGraph "
                    f"module holds one param card per process, so {card} needs its own process "
                    "(or its own P1 copy)"
                )
        else:
            module = _load(module_file)
            for name in ("initialisemodel", "get_value"):
                if not callable(getattr(module, name, None)):
                    raise TinnError(
                        f"{module_file}: matrix2py has no {name}(); expected a MadGraph standalone "
                        "matrix2py module"
                    )
            _check_pdg_order(module, module_file, process)
            module.initialisemodel(str(card))
            _LOADED[module_file] = (module, card, card_text)
        self._get_value = module.get_value
        self.module_file = module_file
        self.param_card = card

    def __reduce__(self) -> tuple:
        raise TypeError(
            "MadGraphMatrixElement holds a loaded Fortran module and cannot be pickled; ship a BackendSpec "
            "and call build_matrix_element in the process that evaluates it"
        )

    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        p = np.ascontiguousarray(momenta.detach().cpu().numpy())
        out = np.empty(len(p), dtype=np.float64)
        for b in range(len(p)):
            try:
                # p[b] is (N, 4) C-ordered, so p[b].T is the (4, N) Fortran-ordered array f2py passes as is.
                out[b] = self._get_value(p[b].T, self.alphas, _NHEL_SUM)
            except (ValueError, TypeError) as exc:
                raise TinnError(f"{self.module_file}: get_value rejected event {b} ({exc})") from None
        return torch.from_numpy(out)
