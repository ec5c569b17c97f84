"""The Standard Model of MadGraph's UFO ``sm`` with its default restriction (``restrict_default``), as data.

Restriction: massless d, u, s, c, e, mu and neutrinos; massive b, t, ta, Z, W, H; diagonal CKM (= 1);
unitary gauge (no Goldstones, no ghosts at tree level). Electroweak inputs in the G_mu scheme (aEWM1, Gf, MZ);
MW is derived. Every number follows the UFO ``parameters.py`` / ``couplings.py`` expressions:

    aEW  = 1/aEWM1                    G   = 2 sqrt(pi aS)           (aS = the configured alpha_s)
    MW   = sqrt(MZ^2/2 + sqrt(MZ^4/4 - aEW pi MZ^2/(Gf sqrt2)))
    ee   = 2 sqrt(aEW pi)             sw2 = 1 - MW^2/MZ^2           cw = sqrt(1 - sw2), sw = sqrt(sw2)
    g1   = ee/cw                      gw  = ee/sw                   vev = 2 MW sw/ee
    lam  = MH^2/(2 vev^2)             yb, yt, ytau = ym{b,t,tau} sqrt2/vev

Coupling names and expressions are those of MadGraph's restricted ``sm`` (checked against published generated code
that lists the model's couplings); the engine depends only on the values. The Lorentz name of the Higgs Yukawa
structure (``FFS4``) is our reading of the UFO file; no catalogue process uses it.

Lorentz structures used by the vertex table (UFO notation: indices 1..n are the vertex positions; ``P(mu,k)``
is the momentum of position k, all momenta incoming; ``Gamma(mu,i,j)``, ``ProjM = (1-g5)/2``,
``ProjP = (1+g5)/2``; negative indices are summed):

    FFV1   Gamma(3,2,1)
    FFV2   Gamma(3,2,-1)*ProjM(-1,1)
    FFV3   Gamma(3,2,-1)*ProjM(-1,1) - 2*Gamma(3,2,-1)*ProjP(-1,1)
    FFV4   Gamma(3,2,-1)*ProjM(-1,1) + 2*Gamma(3,2,-1)*ProjP(-1,1)
    FFV5   Gamma(3,2,-1)*ProjM(-1,1) + 4*Gamma(3,2,-1)*ProjP(-1,1)
    FFS4   ProjM(2,1) + ProjP(2,1)
    VVV1   P(3,1)*Metric(1,2) - P(3,2)*Metric(1,2) - P(2,1)*Metric(1,3)
           + P(2,3)*Metric(1,3) + P(1,2)*Metric(2,3) - P(1,3)*Metric(2,3)
    VVVV1  Metric(1,4)*Metric(2,3) - Metric(1,3)*Metric(2,4)
    VVVV2  Metric(1,4)*Metric(2,3) + Metric(1,3)*Metric(2,4) - 2*Metric(1,2)*Metric(3,4)
    VVVV3  Metric(1,4)*Metric(2,3) - Metric(1,2)*Metric(3,4)
    VVVV4  Metric(1,3)*Metric(2,4) - Metric(1,2)*Metric(3,4)
    VVVV5  Metric(1,4)*Metric(2,3) - (Metric(1,3)*Metric(2,4))/2. - (Metric(1,2)*Metric(3,4))/2.
    VVS1   Metric(1,2)
    VVSS1  Metric(1,2)
    SSS1   1
    SSSS1  1

In every fermion vertex positions 1 and 2 are the fermion pair: ``Gamma(3,2,1)`` is (gamma^mu)_{s2 s1}, so position 1
is ALOHA's F1 (column spinor, ``ixxxxx`` type) and position 2 is F2 (row spinor, ``oxxxxx`` type). A vertex value
is ``sum_k coupling_k * lorentz_k`` (HELAS/ALOHA convention, the coupling carries the i).
"""

from __future__ import annotations

import cmath
import math
from functools import cache
from pathlib import Path

from tinn_dist.errors import TinnError
from tinn_dist.physics.model import Model, Particle, Vertex, VertexTerm
from tinn_dist.physics.param_card import read_param_card

__all__ = ["LORENTZ_STRUCTURES", "load_sm_model"]

LORENTZ_STRUCTURES: dict[str, str] = {
    "FFV1": "Gamma(3,2,1)",
    "FFV2": "Gamma(3,2,-1)*ProjM(-1,1)",
    "FFV3": "Gamma(3,2,-1)*ProjM(-1,1) - 2*Gamma(3,2,-1)*ProjP(-1,1)",
    "FFV4": "Gamma(3,2,-1)*ProjM(-1,1) + 2*Gamma(3,2,-1)*ProjP(-1,1)",
    "FFV5": "Gamma(3,2,-1)*ProjM(-1,1) + 4*Gamma(3,2,-1)*ProjP(-1,1)",
    "FFS4": "ProjM(2,1) + ProjP(2,1)",
    "VVV1": "P(3,1)*Metric(1,2) - P(3,2)*Metric(1,2) - P(2,1)*Metric(1,3) + P(2,3)*Metric(1,3)"
    " + P(1,2)*Metric(2,3) - P(1,3)*Metric(2,3)",
    "VVVV1": "Metric(1,4)*Metric(2,3) - Metric(1,3)*Metric(2,4)",
    "VVVV2": "Metric(1,4)*Metric(2,3) + Metric(1,3)*Metric(2,4) - 2*Metric(1,2)*Metric(3,4)",
    "VVVV3": "Metric(1,4)*Metric(2,3) - Metric(1,2)*Metric(3,4)",
    "VVVV4": "Metric(1,3)*Metric(2,4) - Metric(1,2)*Metric(3,4)",
    "VVVV5": "Metric(1,4)*Metric(2,3) - (Metric(1,3)*Metric(2,4))/2. - (Metric(1,2)*Metric(3,4))/2.",
    "VVS1": "Metric(1,2)",
    "VVSS1": "Metric(1,2)",
    "SSS1": "1",
    "SSSS1": "1",
}

# (pdg, particle name, antiparticle name, 2s+1, colour, mass, width, charge)
_PARTICLES = (
    (1, "d", "d~", 2, 3, "ZERO", "ZERO", -1 / 3),
    (2, "u", "u~", 2, 3, "ZERO", "ZERO", 2 / 3),
    (3, "s", "s~", 2, 3, "ZERO", "ZERO", -1 / 3),
    (4, "c", "c~", 2, 3, "ZERO", "ZERO", 2 / 3),
    (5, "b", "b~", 2, 3, "MB", "ZERO", -1 / 3),
    (6, "t", "t~", 2, 3, "MT", "WT", 2 / 3),
    (11, "e-", "e+", 2, 1, "ZERO", "ZERO", -1.0),
    (12, "ve", "ve~", 2, 1, "ZERO", "ZERO", 0.0),
    (13, "mu-", "mu+", 2, 1, "ZERO", "ZERO", -1.0),
    (14, "vm", "vm~", 2, 1, "ZERO", "ZERO", 0.0),
    (15, "ta-", "ta+", 2, 1, "MTA", "ZERO", -1.0),
    (16, "vt", "vt~", 2, 1, "ZERO", "ZERO", 0.0),
    (21, "g", None, 3, 8, "ZERO", "ZERO", 0.0),
    (22, "a", None, 3, 1, "ZERO", "ZERO", 0.0),
    (23, "z", None, 3, 1, "MZ", "WZ", 0.0),
    (24, "w+", "w-", 3, 1, "MW", "WW", 1.0),
    (25, "h", None, 1, 1, "MH", "WH", 0.0),
)

# Coupling name -> UFO expression, evaluated in the namespace of the derived parameters (I = imaginary unit).
_COUPLINGS = {
    "GC_1": "-(ee*I)/3.",
    "GC_2": "(2*ee*I)/3.",
    "GC_3": "-(ee*I)",
    "GC_4": "ee*I",
    "GC_5": "ee**2*I",
    "GC_10": "-G",
    "GC_11": "I*G",
    "GC_12": "I*G**2",
    "GC_33": "-6*I*lam",
    "GC_34": "(ee**2*I)/(2.*sw**2)",
    "GC_35": "-((ee**2*I)/sw**2)",
    "GC_36": "(cw**2*ee**2*I)/sw**2",
    "GC_50": "-(cw*ee*I)/(2.*sw)",
    "GC_51": "(cw*ee*I)/(2.*sw)",
    "GC_53": "(cw*ee*I)/sw",
    "GC_57": "(-2*cw*ee**2*I)/sw",
    "GC_58": "-(ee*I*sw)/(6.*cw)",
    "GC_59": "(ee*I*sw)/(2.*cw)",
    "GC_62": "(cw*ee*I)/(2.*sw) + (ee*I*sw)/(2.*cw)",
    "GC_65": "ee**2*I + (cw**2*ee**2*I)/(2.*sw**2) + (ee**2*I*sw**2)/(2.*cw**2)",
    "GC_69": "-6*I*lam*vev",
    "GC_72": "(ee**2*I*vev)/(2.*sw**2)",
    "GC_81": "ee**2*I*vev + (cw**2*ee**2*I*vev)/(2.*sw**2) + (ee**2*I*sw**2*vev)/(2.*cw**2)",
    "GC_83": "-((I*yb)/sqrt(2))",
    "GC_94": "-((I*yt)/sqrt(2))",
    "GC_99": "-((I*ytau)/sqrt(2))",
    "GC_100": "(ee*I)/(sw*sqrt(2))",
}


def _fermion_vertices() -> list[tuple[tuple[int, ...], tuple[tuple[str, tuple[tuple[str, str], ...]], ...], str]]:
    """(particles, ((colour, ((lorentz, coupling), ...)), ...), order) for every vertex with a fermion pair."""
    out = []
    down, up, charged, neutral = (1, 3, 5), (2, 4, 6), (11, 13, 15), (12, 14, 16)
    for q in down + up:
        photon = "GC_1" if q in down else "GC_2"
        z = (("FFV2", "GC_50"), ("FFV3", "GC_58")) if q in down else (("FFV2", "GC_51"), ("FFV5", "GC_58"))
        out.append(((-q, q, 22), (("Identity(1,2)", (("FFV1", photon),)),), "QED"))
        out.append(((-q, q, 21), (("T(3,2,1)", (("FFV1", "GC_11"),)),), "QCD"))
        out.append(((-q, q, 23), (("Identity(1,2)", z),), "QED"))
    for lep in charged:
        out.append(((-lep, lep, 22), (("1", (("FFV1", "GC_3"),)),), "QED"))
        out.append(((-lep, lep, 23), (("1", (("FFV2", "GC_50"), ("FFV4", "GC_59"))),), "QED"))
    for nu in neutral:
        out.append(((-nu, nu, 23), (("1", (("FFV2", "GC_62"),)),), "QED"))
    for d, u in zip(down, up):   # diagonal CKM
        out.append(((-d, u, -24), (("Identity(1,2)", (("FFV2", "GC_100"),)),), "QED"))
        out.append(((-u, d, 24), (("Identity(1,2)", (("FFV2", "GC_100"),)),), "QED"))
    for lep, nu in zip(charged, neutral):
        out.append(((-lep, nu, -24), (("1", (("FFV2", "GC_100"),)),), "QED"))
        out.append(((-nu, lep, 24), (("1", (("FFV2", "GC_100"),)),), "QED"))
    for f, y in ((5, "GC_83"), (6, "GC_94")):
        out.append(((-f, f, 25), (("Identity(1,2)", (("FFS4", y),)),), "QED"))
    out.append(((-15, 15, 25), (("1", (("FFS4", "GC_99"),)),), "QED"))
    return out


_BOSON_VERTICES = (
    ((21, 21, 21), (("f(1,2,3)", (("VVV1", "GC_10"),)),), {"QCD": 1}),
    ((21, 21, 21, 21), (
        ("f(-1,1,2)*f(3,4,-1)", (("VVVV1", "GC_12"),)),
        ("f(-1,1,3)*f(2,4,-1)", (("VVVV3", "GC_12"),)),
        ("f(-1,1,4)*f(2,3,-1)", (("VVVV4", "GC_12"),)),
    ), {"QCD": 2}),
    ((22, -24, 24), (("1", (("VVV1", "GC_4"),)),), {"QED": 1}),
    ((-24, 24, 23), (("1", (("VVV1", "GC_53"),)),), {"QED": 1}),
    ((22, 22, -24, 24), (("1", (("VVVV2", "GC_5"),)),), {"QED": 2}),
    ((22, -24, 24, 23), (("1", (("VVVV5", "GC_57"),)),), {"QED": 2}),
    ((-24, -24, 24, 24), (("1", (("VVVV2", "GC_35"),)),), {"QED": 2}),
    ((-24, 24, 23, 23), (("1", (("VVVV2", "GC_36"),)),), {"QED": 2}),
    ((25, 25, 25), (("1", (("SSS1", "GC_69"),)),), {"QED": 1}),
    ((25, 25, 25, 25), (("1", (("SSSS1", "GC_33"),)),), {"QED": 2}),
    ((-24, 24, 25), (("1", (("VVS1", "GC_72"),)),), {"QED": 1}),
    ((23, 23, 25), (("1", (("VVS1", "GC_81"),)),), {"QED": 1}),
    ((-24, 24, 25, 25), (("1", (("VVSS1", "GC_34"),)),), {"QED": 2}),
    ((23, 23, 25, 25), (("1", (("VVSS1", "GC_65"),)),), {"QED": 2}),
)


def _vertices() -> tuple[Vertex, ...]:
    rows = [(p, terms, {order: 1}) for p, terms, order in _fermion_vertices()] + list(_BOSON_VERTICES)
    vertices = []
    for i, (particles, terms, orders) in enumerate(rows, start=1):
        vterms = tuple(
            VertexTerm(color=colour, lorentz=tuple(l for l, _ in lc), couplings=tuple(c for _, c in lc))
            for colour, lc in terms
        )
        vertices.append(Vertex(f"V_{i}", tuple(particles), vterms, tuple(sorted(orders.items()))))
    return tuple(vertices)


def _particles() -> dict[int, Particle]:
    out: dict[int, Particle] = {}
    for pdg, name, anti, spin, colour, mass, width, charge in _PARTICLES:
        out[pdg] = Particle(pdg, name, spin, colour, mass, width, charge)
        if anti is not None:
            out[-pdg] = Particle(-pdg, anti, spin, -colour if colour == 3 else colour, mass, width, -charge)
    return out


def _parameters(card_path: Path, alphas: float) -> dict[str, float]:
    card = read_param_card(card_path)
    aEWM1 = card.value("SMINPUTS", 1, "aEWM1")
    Gf = card.value("SMINPUTS", 2, "Gf")
    MZ = card.value("MASS", 23, "MZ")
    p = {
        "ZERO": 0.0,
        "aEWM1": aEWM1, "Gf": Gf, "aS": alphas,
        "MB": card.value("MASS", 5, "MB"), "MT": card.value("MASS", 6, "MT"), "MTA": card.value("MASS", 15, "MTA"),
        "MZ": MZ, "MH": card.value("MASS", 25, "MH"),
        "ymb": card.value("YUKAWA", 5, "ymb"), "ymt": card.value("YUKAWA", 6, "ymt"),
        "ymtau": card.value("YUKAWA", 15, "ymtau"),
        "WT": card.width(6, "WT"), "WZ": card.width(23, "WZ"), "WW": card.width(24, "WW"), "WH": card.width(25, "WH"),
    }
    for name in ("aEWM1", "Gf", "MZ"):
        if not p[name] > 0:
            raise TinnError(f"{card_path}: {name} must be positive, got {p[name]}")
    aEW = 1.0 / aEWM1
    disc = MZ**4 / 4.0 - aEW * math.pi * MZ**2 / (Gf * math.sqrt(2.0))
    if disc < 0:
        raise TinnError(f"{card_path}: aEWM1, Gf and MZ give no real W mass (MZ^4/4 < aEW pi MZ^2/(Gf sqrt2))")
    MW = math.sqrt(MZ**2 / 2.0 + math.sqrt(disc))
    ee = 2.0 * math.sqrt(aEW) * math.sqrt(math.pi)
    sw2 = 1.0 - MW**2 / MZ**2
    cw = math.sqrt(1.0 - sw2)
    sw = math.sqrt(sw2)
    vev = 2.0 * MW * sw / ee
    p.update(
        aEW=aEW, MW=MW, ee=ee, sw2=sw2, cw=cw, sw=sw, g1=ee / cw, gw=ee / sw, vev=vev,
        lam=p["MH"] ** 2 / (2.0 * vev**2),
        yb=p["ymb"] * math.sqrt(2.0) / vev, yt=p["ymt"] * math.sqrt(2.0) / vev,
        ytau=p["ymtau"] * math.sqrt(2.0) / vev,
        G=2.0 * math.sqrt(alphas) * math.sqrt(math.pi),
    )
    return p


def _couplings(params: dict[str, float]) -> dict[str, complex]:
    namespace = dict(params, I=1j, sqrt=cmath.sqrt)
    return {name: complex(eval(expr, {"__builtins__": {}}, namespace)) for name, expr in _COUPLINGS.items()}


@cache
def _load(card_path: Path, stamp: tuple[int, int], alphas: float) -> Model:
    params = _parameters(card_path, alphas)
    return Model("sm", _particles(), _vertices(), params, _couplings(params))


def load_sm_model(param_card: Path | str, alphas: float) -> Model:
    """The ``sm`` model (default restriction) with parameters from ``param_card`` and strong coupling ``alphas``.
    One Model object per (card file and its modification time, alphas), so compiled processes are cached too."""
    if not 0.0 < alphas < 1.0:
        raise TinnError(f"alphas must be in (0, 1), got {alphas}")
    path = Path(param_card).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise TinnError(f"{path}: cannot read param card ({exc.strerror})") from None
    return _load(path, (st.st_mtime_ns, st.st_size), float(alphas))
