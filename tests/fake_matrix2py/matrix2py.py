"""Stand-in for MadGraph's standalone ``matrix2py`` (tests only; MadGraph cannot be installed here).

Same calls as the f2py extension that ``make matrix2py.so`` builds in ``SubProcesses/P1_*`` (MadGraph template
``matrix_standalone_v4.inc``): ``initialisemodel(path)`` reads the param card into module-global state (the
Fortran common blocks), ``get_value(p, alphas, nhel)`` takes p shaped (4, NEXTERNAL) with NEXTERNAL fixed per
module (read from ``nexternal.inc`` beside this file, as MadGraph compiles it in) and returns a float. The
value is a made-up deterministic positive function of the momenta, the card's top mass and alphas;
no physics.
The real module has more entry points (smatrix, smatrixhel, matrix, is_born_hel_selected) that tinn-dist never
calls, so they are left out.
"""

import os
import re

import numpy as np

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "nexternal.inc")) as _f:
    NEXTERNAL = int(re.search(r"NEXTERNAL\s*=\s*(\d+)", _f.read()).group(1))

_top_mass = None  # set by initialisemodel, like MadGraph's MDL_MT common block


def initialisemodel(path):
    global _top_mass
    path = str(path).strip()
    if not os.path.isfile(os.path.join(os.path.dirname(path), "ident_card.dat")):
        # MadGraph's setpara STOPs here and the process exits with status 0; a test double must fail loudly.
        raise RuntimeError(
            "STOP: ident_card.dat not found beside the param card (MadGraph would exit silently)"
        )
    with open(path) as f:
        card = f.read()
    block = re.search(
        r"^BLOCK\s+MASS.*?$(.*?)^(?:BLOCK|DECAY)", card, re.IGNORECASE | re.MULTILINE | re.DOTALL
    )
    masses = dict(re.findall(r"^\s*(\d+)\s+([-+0-9.eE]+)", block.group(1), re.MULTILINE))
    _top_mass = float(masses["6"])


def get_value(p, alphas, nhel):
    if _top_mass is None:
        raise RuntimeError("initialisemodel was not called")
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (4, NEXTERNAL):
        raise ValueError(f"get_value: p must have shape (4, {NEXTERNAL}), got {p.shape}")

    def dot(a, b):
        return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3]

    s = dot(p[:, 0] + p[:, 1], p[:, 0] + p[:, 1])
    value = alphas**2 * _top_mass**2 / s
    for k in range(2, NEXTERNAL):
        value *= 1.0 + abs(dot(p[:, k], p[:, 2 + (k - 1) % (NEXTERNAL - 2)])) / s
    return value
