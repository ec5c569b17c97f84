"""Parton distribution functions for the built-in generator: x f(x, Q^2) and alpha_s(Q^2) of one PDF member.

Three sources, one interface (:class:`PDF`):

- LHAPDF6 grid sets (``NAME/NAME.info`` + ``NAME/NAME_0000.dat``), found by name on ``$LHAPDF_DATA_PATH`` or given
  as a path; read natively (no LHAPDF installation needed) and interpolated log-bicubically in (ln x, ln Q^2),
  as LHAPDF6's default ``logcubic`` interpolator does.
- LHAPDF5 ``.LHgrid`` text grids in the NNPDF layout (header, x knots, Q^2 knots, then x f for -6..6 and the
  photon, x outer and Q^2 inner), e.g. MadGraph's internal ``nn23lo1``; used to validate against MadGraph.
- The built-in offline default, CTEQ5L in its published parametrised form (see :class:`CTEQ5L`).

alpha_s: MadGraph runs alpha_s at two loops from the PDF's alpha_s(MZ) (its event records reproduce
``AQCDUP`` that way to 1e-4 for ``nn23lo1``); LHAPDF6 sets use the alpha_s table or order in their ``.info``.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from tinn_dist.errors import TinnError

__all__ = ["CTEQ5L", "PDF", "GridPDF", "RunningAlphaS", "load_pdf", "read_lhapdf6", "read_lhgrid"]

MZ = 91.188
GLUON = 21


class RunningAlphaS:
    """alpha_s(Q^2) from alpha_s(MZ) by integrating the QCD beta function at ``loops`` (1 or 2) loops, with
    ``nf`` active flavours (5, as MadGraph uses above the b mass), tabulated once in ln Q^2 and interpolated."""

    def __init__(self, alphas_mz: float, loops: int = 2, nf: int = 5, mz: float = MZ) -> None:
        if loops not in (1, 2):
            raise TinnError(f"alpha_s running: loops must be 1 or 2, got {loops}")
        self.alphas_mz, self.loops, self.nf = alphas_mz, loops, nf
        b0 = (33.0 - 2.0 * nf) / (12.0 * math.pi)
        b1 = (153.0 - 19.0 * nf) / (24.0 * math.pi**2) if loops == 2 else 0.0
        # d a / d ln Q^2 = -a^2 (b0 + b1 a); RK4 outward from MZ on a fine grid in t = ln(Q^2 / MZ^2).
        self._t = np.linspace(math.log(1.0 / mz**2), math.log(1e10 / mz**2), 4001)
        i0 = int(np.searchsorted(self._t, 0.0))
        self._t = np.insert(self._t, i0, 0.0)
        a = np.empty_like(self._t)
        a[i0] = alphas_mz

        def beta(x: float) -> float:
            return -x * x * (b0 + b1 * x)

        for direction, rng in ((1, range(i0, len(a) - 1)), (-1, range(i0, 0, -1))):
            for i in rng:
                j = i + direction
                h = self._t[j] - self._t[i]
                y = a[i]
                k1 = beta(y)
                k2 = beta(y + 0.5 * h * k1)
                k3 = beta(y + 0.5 * h * k2)
                k4 = beta(y + h * k3)
                a[j] = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0
        self._a = a
        self._mz2 = mz * mz

    def __call__(self, q2: np.ndarray | float) -> np.ndarray:
        t = np.log(np.asarray(q2, dtype=np.float64) / self._mz2)
        return np.interp(t, self._t, self._a)


class TabulatedAlphaS:
    """alpha_s from an LHAPDF6 ``ipol`` table (AlphaS_Qs, AlphaS_Vals), interpolated in ln Q^2."""

    def __init__(self, qs: list[float], values: list[float]) -> None:
        self._lq2 = np.log(np.asarray(qs, dtype=np.float64) ** 2)
        self._a = np.asarray(values, dtype=np.float64)

    def __call__(self, q2: np.ndarray | float) -> np.ndarray:
        return np.interp(np.log(np.asarray(q2, dtype=np.float64)), self._lq2, self._a)


class PDF(ABC):
    """One PDF member: ``xfxQ2(pid, x, q2)`` = x f_pid(x, Q^2) (pid: PDG code, 21 = gluon) and ``alphas``."""

    name: str
    alphas: RunningAlphaS | TabulatedAlphaS

    @abstractmethod
    def xfxQ2(self, pid: int, x: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """x f(x, Q^2) for parton ``pid`` on arrays of x and Q^2 (same shape)."""

    def alphas_q2(self, q2: np.ndarray | float) -> np.ndarray:
        return self.alphas(q2)

    def describe(self) -> str:
        return self.name


# ----------------------------------------------------------------------------------------------------------------
# Grids (LHAPDF6 and LHAPDF5): log-bicubic interpolation


@dataclass(frozen=True)
class _Subgrid:
    lx: np.ndarray              # ln x knots (nx,)
    lq2: np.ndarray             # ln Q^2 knots (nq,)
    xf: dict[int, np.ndarray]   # pid -> x f on the knots (nx, nq)


def _hermite(t: np.ndarray, f0, f1, d0, d1, h):
    """Cubic Hermite on [0, 1] with end values f0, f1 and derivatives d0, d1 (per unit of the knot spacing h)."""
    t2 = t * t
    t3 = t2 * t
    return (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * h * d0 + (-2 * t3 + 3 * t2) * f1 + (t3 - t2) * h * d1


def _interp_subgrid(g: _Subgrid, table: np.ndarray, lx: np.ndarray, lq2: np.ndarray) -> np.ndarray:
    """Log-bicubic interpolation of ``table`` (nx, nq) at points (lx, lq2), already clamped inside the grid:
    cubic Hermite in ln x at the Q^2 knots around the point, then cubic Hermite in ln Q^2."""
    nx, nq = table.shape
    ix = np.clip(np.searchsorted(g.lx, lx, side="right") - 1, 0, nx - 2)
    iq = np.clip(np.searchsorted(g.lq2, lq2, side="right") - 1, 0, nq - 2)
    hx = g.lx[ix + 1] - g.lx[ix]
    tx = (lx - g.lx[ix]) / hx

    def along_x(jq: np.ndarray) -> np.ndarray:
        col = table[:, jq]  # (nx, B): the ln x column at Q^2 knot jq of every point
        b = np.arange(len(jq))
        f0, f1 = col[ix, b], col[ix + 1, b]
        d0 = _col_deriv(g.lx, col, ix, b)
        d1 = _col_deriv(g.lx, col, ix + 1, b)
        return _hermite(tx, f0, f1, d0, d1, hx)

    qs = [along_x(np.clip(iq + k, 0, nq - 1)) for k in (-1, 0, 1, 2)]
    q_m, q0, q1, q_p = (g.lq2[np.clip(iq + k, 0, nq - 1)] for k in (-1, 0, 1, 2))
    hq = q1 - q0
    tq = (lq2 - q0) / hq
    s01 = (qs[2] - qs[1]) / hq
    d0 = np.where(iq > 0, 0.5 * ((qs[1] - qs[0]) / np.where(iq > 0, q0 - q_m, 1.0) + s01), s01)
    d1 = np.where(iq + 2 < nq, 0.5 * (s01 + (qs[3] - qs[2]) / np.where(iq + 2 < nq, q_p - q1, 1.0)), s01)
    return _hermite(tq, qs[1], qs[2], d0, d1, hq)


def _col_deriv(knots: np.ndarray, col: np.ndarray, i: np.ndarray, b: np.ndarray) -> np.ndarray:
    """d col / d knot at knot index i of point b: the average of the two adjacent slopes inside the grid,
    one-sided at its edges (LHAPDF6's ``logcubic`` convention)."""
    n = len(knots)
    im = np.maximum(i - 1, 0)
    ip = np.minimum(i + 1, n - 1)
    left = (col[i, b] - col[im, b]) / np.where(i > 0, knots[i] - knots[im], 1.0)
    right = (col[ip, b] - col[i, b]) / np.where(i < n - 1, knots[ip] - knots[i], 1.0)
    both = (i > 0) & (i < n - 1)
    return np.where(both, 0.5 * (left + right), np.where(i > 0, left, right))


class GridPDF(PDF):
    """A PDF member tabulated on (x, Q^2) knots, in one or more Q^2 subgrids (flavour thresholds).

    Outside the grid, x and Q^2 are frozen at its edges (a generator at 13 TeV stays well inside any modern grid).
    """

    def __init__(self, name: str, subgrids: list[_Subgrid], alphas: RunningAlphaS | TabulatedAlphaS) -> None:
        self.name = name
        self.subgrids = subgrids
        self.alphas = alphas
        self._lq2_edges = np.array([g.lq2[0] for g in subgrids[1:]])
        self.x_range = (math.exp(subgrids[0].lx[0]), math.exp(subgrids[0].lx[-1]))
        self.q2_range = (math.exp(subgrids[0].lq2[0]), math.exp(subgrids[-1].lq2[-1]))

    def xfxQ2(self, pid: int, x: np.ndarray, q2: np.ndarray) -> np.ndarray:
        pid = GLUON if pid == 0 else pid
        x = np.asarray(x, dtype=np.float64)
        q2 = np.asarray(q2, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, q2.shape)
        lx = np.broadcast_to(np.log(np.clip(x, *self.x_range)), shape).ravel()
        lq2 = np.broadcast_to(np.log(np.clip(q2, *self.q2_range)), shape).ravel()
        out = np.zeros(lx.shape)
        which = np.searchsorted(self._lq2_edges, lq2, side="right")
        for k, g in enumerate(self.subgrids):
            table = g.xf.get(pid)
            sel = which == k
            if table is None or not sel.any():
                continue
            out[sel] = _interp_subgrid(g, table, lx[sel], np.clip(lq2[sel], g.lq2[0], g.lq2[-1]))
        return out.reshape(shape)


def read_lhgrid(path: str | Path) -> GridPDF:
    """Member 0 of an LHAPDF5 ``.LHgrid`` text grid in the NNPDF layout (e.g. ``NNPDF23_lo_as_0130_qed``)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise TinnError(f"{path}: cannot read the PDF grid ({exc.strerror})") from None
    try:
        alphas_mz = None
        for i, line in enumerate(lines):
            if line.strip().startswith("'Parameterlist:'"):
                alphas_mz = float(lines[i + 2].split()[0])
            if line.strip().startswith("'Evolution:'"):
                start = i + 2  # the evolution label, then the grid
                break
        else:
            raise ValueError("no 'Evolution:' section")
        tokens = " ".join(lines[start + 1 :]).replace(",", " ").split()
        pos = 2  # "0 , 1": the member range
        nx = int(tokens[pos])
        xs = np.array(tokens[pos + 1 : pos + 1 + nx], dtype=np.float64)
        pos += 1 + nx
        nq = int(tokens[pos])
        # NNPDF layout: the Q^2 count is followed by Q0^2 and then the nq knots.
        q2s = np.array(tokens[pos + 2 : pos + 2 + nq], dtype=np.float64)
        pos += 2 + nq
        pos += 1  # member number
        values = np.array(tokens[pos : pos + nx * nq * 14], dtype=np.float64).reshape(nx, nq, 14)
        if values.shape[0] * values.shape[1] != nx * nq:
            raise ValueError("fewer values than the grid needs")
    except (ValueError, IndexError) as exc:
        raise TinnError(f"{path}: not an LHAPDF5 NNPDF-layout .LHgrid file ({exc})") from None
    if alphas_mz is None:
        raise TinnError(f"{path}: no alpha_s(MZ) in its 'Parameterlist:' section")
    pids = [-6, -5, -4, -3, -2, -1, GLUON, 1, 2, 3, 4, 5, 6, 22]
    grid = _Subgrid(np.log(xs), np.log(q2s), {pid: values[:, :, k].copy() for k, pid in enumerate(pids)})
    # MadGraph runs alpha_s at two loops from the set's alpha_s(MZ) (see the module docstring).
    return GridPDF(path.stem, [grid], RunningAlphaS(alphas_mz, loops=2))


def _lhapdf6_dirs() -> list[Path]:
    dirs = [Path(d) for d in os.environ.get("LHAPDF_DATA_PATH", "").split(":") if d]
    dirs += [Path(d) for d in os.environ.get("LHAPATH", "").split(":") if d]
    return dirs


def read_lhapdf6(set_dir: str | Path, member: int = 0) -> GridPDF:
    """One member of an LHAPDF6 set directory ``NAME/`` holding ``NAME.info`` and ``NAME_MMMM.dat``."""
    set_dir = Path(set_dir)
    name = set_dir.name
    info_path = set_dir / f"{name}.info"
    dat_path = set_dir / f"{name}_{member:04d}.dat"
    try:
        info = yaml.safe_load(info_path.read_text()) or {}
        text = dat_path.read_text()
    except OSError as exc:
        raise TinnError(f"{exc.filename}: cannot read the LHAPDF6 set ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise TinnError(f"{info_path}: not valid YAML ({exc})") from None
    blocks = text.split("---")
    subgrids = []
    try:
        for block in blocks[1:]:
            rows = [r for r in block.strip().splitlines() if r.strip()]
            if len(rows) < 4:
                continue
            xs = np.array(rows[0].split(), dtype=np.float64)
            qs = np.array(rows[1].split(), dtype=np.float64)
            pids = [GLUON if int(p) == 0 else int(p) for p in rows[2].split()]
            values = np.array(" ".join(rows[3:]).split(), dtype=np.float64)
            values = values.reshape(len(xs), len(qs), len(pids))  # x outer, Q inner (LHAPDF6 format)
            subgrids.append(_Subgrid(np.log(xs), np.log(qs**2), {p: values[:, :, k].copy() for k, p in enumerate(pids)}))
    except ValueError as exc:
        raise TinnError(f"{dat_path}: not an LHAPDF6 grid file ({exc})") from None
    if not subgrids:
        raise TinnError(f"{dat_path}: no grid blocks found (expected blocks separated by '---')")
    if info.get("AlphaS_Type") == "ipol" and "AlphaS_Qs" in info and "AlphaS_Vals" in info:
        alphas: RunningAlphaS | TabulatedAlphaS = TabulatedAlphaS(info["AlphaS_Qs"], info["AlphaS_Vals"])
    elif "AlphaS_MZ" in info:
        loops = 1 if int(info.get("AlphaS_OrderQCD", 1)) == 0 else 2
        alphas = RunningAlphaS(float(info["AlphaS_MZ"]), loops=loops, mz=float(info.get("MZ", MZ)))
    else:
        raise TinnError(f"{info_path}: needs AlphaS_MZ or an ipol table (AlphaS_Qs, AlphaS_Vals)")
    return GridPDF(name, subgrids, alphas)


# ----------------------------------------------------------------------------------------------------------------
# Built-in default: CTEQ5L, parametrised form


class CTEQ5L(PDF):
    """CTEQ5L leading-order PDFs in their published parametrised form.

    Source: CTEQ Collaboration, H.L. Lai et al., "Global QCD analysis of parton structure of the nucleon: CTEQ5
    parton distributions", Eur. Phys. J. C12 (2000) 375, hep-ph/9903282; the parametrisation of the LO set is by
    J. Pumplin, distributed by CTEQ as ``Ctq5Par.f`` (function ``Ctq5L``): for each of 8 combinations (d, u, g,
    ubar+dbar, dbar/ubar, s = sbar, c = cbar, b = bbar) an analytic form in x and ln ln(Q/alpha) with 27 + 3
    coefficients, valid for 1e-6 < x < 1 and 1.1 GeV < Q < 10 TeV (accurate to about 1% of the grid). Why this
    set: it is a genuine LO global fit, its published form is ~250 numbers (no grid file to ship), it is
    evaluated in closed form (fast, vectorised), and it has been the embedded default of widely used generators;
    alpha_s is its own: one loop with alpha_s(MZ) = 0.127 (the CTEQ5L value), 5 flavours.
    Outside the range x and Q are frozen at the borders.
    """

    # Per combination: Q threshold, alpha (GeV), ut1, ut2, then the 9x3 coefficient table (Ctq5Par.f, Ctq5L).
    _QMIN = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.3, 4.5])
    _ALPHA = np.array([0.2987216, 0.3407552, 0.4491863, 0.2457668, 0.5293999, 0.3713141, 0.03712017, 0.004952010])
    _UT1 = np.array([4.971265, 2.612618, -0.4656819, 3.862583, 0.1895615, 3.753257, 4.400772, 5.562568])
    _UT2 = np.array([-1.105128, -1.258304e5, -274.2390, -1.265969, -3.069097, -1.113085, -1.356116, -1.801317])
    _AM = np.array([
        [[0.5292616E+01, -0.2751910E+01, -0.2488990E+01], [0.9714424E+00, 0.1011827E-01, -0.1023660E-01],
         [-0.1651006E+02, 0.7959721E+01, 0.8810563E+01], [-0.1643394E+02, 0.5892854E+01, 0.9348874E+01],
         [0.3067422E+02, 0.4235796E+01, -0.5112136E+00], [0.2352526E+02, -0.5305168E+01, -0.1169174E+02],
         [-0.1095451E+02, 0.3006577E+01, 0.5638136E+01], [-0.1172251E+02, -0.2183624E+01, 0.4955794E+01],
         [0.1662533E-01, 0.7622870E-02, -0.4895887E-03]],
        [[0.9905300E+00, -0.4502235E+00, 0.1624441E+00], [0.8867534E+00, 0.1630829E-01, -0.4049085E-01],
         [0.8547974E+00, 0.3336301E+00, 0.1371388E+00], [0.2941113E+00, -0.1527905E+01, 0.2331879E+00],
         [0.3384235E+02, 0.3715315E+01, 0.8276930E+00], [0.6230115E+01, 0.3134639E+01, -0.1729099E+01],
         [-0.1186928E+01, -0.3282460E+00, 0.1052020E+00], [-0.8545702E+01, -0.6247947E+01, 0.3692561E+01],
         [0.1724598E-01, 0.7120465E-02, 0.4003646E-04]],
        [[0.1193572E+03, -0.3886845E+01, -0.1133965E+01], [-0.9421449E+02, 0.3995885E+01, 0.1607363E+01],
         [0.4206383E+01, 0.2485954E+00, 0.2497468E+00], [0.1210557E+03, -0.3015765E+01, -0.1423651E+01],
         [-0.1013897E+03, -0.7113478E+00, 0.2621865E+00], [-0.1312404E+01, -0.9297691E+00, -0.1562531E+00],
         [0.1627137E+01, 0.4954111E+00, -0.6387009E+00], [0.1537698E+00, -0.2487878E+00, 0.8305947E+00],
         [0.2496448E-01, 0.2457823E-02, 0.8234276E-03]],
        [[0.2647441E+02, 0.1059277E+02, -0.9176654E+00], [0.1990636E+01, 0.8558918E-01, 0.4248667E-01],
         [-0.1476095E+02, -0.3276255E+02, 0.1558110E+01], [-0.2966889E+01, -0.3649037E+02, 0.1195914E+01],
         [-0.1000519E+03, -0.2464635E+01, 0.1964849E+00], [0.3718331E+02, 0.4700389E+02, -0.2772142E+01],
         [-0.1872722E+02, -0.2291189E+02, 0.1089052E+01], [-0.1628146E+02, -0.1823993E+02, 0.2537369E+01],
         [-0.1156300E+01, -0.1280495E+00, 0.5153245E-01]],
        [[-0.6556775E+00, 0.2490190E+00, 0.3966485E-01], [0.1305102E+01, -0.1188925E+00, -0.4600870E-02],
         [-0.2371436E+01, 0.3566814E+00, -0.2834683E+00], [-0.6152826E+01, 0.8339877E+00, -0.7233230E+00],
         [-0.8346558E+01, 0.2892168E+01, 0.2137099E+00], [0.1279530E+02, 0.1021114E+00, 0.5787439E+00],
         [0.5858816E+00, -0.1940375E+01, -0.4029269E+00], [-0.2795725E+02, -0.5263392E+00, 0.1290229E+01],
         [0.0, 0.0, 0.0]],
        [[0.1580931E+01, -0.2273826E+01, -0.1822245E+01], [0.2702644E+01, 0.6763243E+00, 0.7231586E-02],
         [-0.1857924E+02, 0.3907500E+01, 0.5850109E+01], [-0.3044793E+02, 0.2639332E+01, 0.5566644E+01],
         [-0.4258011E+01, -0.5429244E+01, 0.4418946E+00], [0.3465259E+02, -0.5532604E+01, -0.4904153E+01],
         [-0.1658858E+02, 0.2923275E+01, 0.2266286E+01], [-0.1149263E+02, 0.2877475E+01, -0.7999105E+00],
         [0.0, 0.0, 0.0]],
        [[-0.8293661E+00, -0.3982375E+01, -0.6494283E-01], [0.2754618E+01, 0.8338636E+00, -0.6885160E-01],
         [-0.1657987E+02, 0.1439143E+02, -0.6887240E+00], [-0.2800703E+02, 0.1535966E+02, -0.7377693E+00],
         [-0.6460216E+01, -0.4783019E+01, 0.4913297E+00], [0.3141830E+02, -0.3178031E+02, 0.7136013E+01],
         [-0.1802509E+02, 0.1862163E+02, -0.4632843E+01], [-0.1240412E+02, 0.2565386E+02, -0.1066570E+02],
         [0.0, 0.0, 0.0]],
        [[-0.6031237E+01, 0.1992727E+01, -0.1076331E+01], [0.2933912E+01, 0.5839674E+00, 0.7509435E-01],
         [-0.8284919E+01, 0.1488593E+01, -0.8251678E+00], [-0.1925986E+02, 0.2805753E+01, -0.3015446E+01],
         [-0.9480483E+01, -0.9767837E+00, -0.1165544E+01], [0.2193195E+02, -0.1788518E+02, 0.9460908E+01],
         [-0.1327377E+02, 0.1201754E+02, -0.6277844E+01], [0.0, 0.0, 0.0],
         [0.0, 0.0, 0.0]],
    ])
    ALPHAS_MZ = 0.127

    def __init__(self) -> None:
        self.name = "CTEQ5L"
        self.alphas = RunningAlphaS(self.ALPHAS_MZ, loops=1)

    def _combination(self, i: int, x: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The parametrised function of combination i (a density, not x times it)."""
        y = -np.log(x)
        u = np.log(x / 1e-5)
        x1 = 1.0 - x
        x1l = np.log1p(-x)
        alpha = self._ALPHA[i]
        live = q > max(self._QMIN[i], alpha)
        sb1 = np.log(np.log(np.where(live, q, 2 * alpha + 1) / alpha)) - 1.2
        am = self._AM[i]
        af = am[:, 0][:, None] + sb1[None, :] * am[:, 1][:, None] + sb1[None, :] ** 2 * am[:, 2][:, None]
        part1 = af[1] * y ** (1.0 + 0.01 * af[4]) * (1.0 + af[8] * u)
        part2 = af[0] * x1 + af[3] * x
        part3 = x * x1 * (af[5] + af[6] * x1 + af[7] * x * x1)
        if self._UT2[i] < -100.0:
            part4 = self._UT1[i] * x1l + af[2] * x1l
        else:
            part4 = self._UT1[i] * x1l + af[2] * np.log(x1 + math.exp(self._UT2[i]))
        value = x * np.exp(part1 + part2 + part3 + part4) * (1.0 - self._QMIN[i] / np.where(live, q, 1.0))
        return np.where(live, value, 0.0)

    def xfxQ2(self, pid: int, x: np.ndarray, q2: np.ndarray) -> np.ndarray:
        pid = GLUON if pid == 0 else pid
        x = np.asarray(x, dtype=np.float64)
        q2 = np.asarray(q2, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, q2.shape)
        x = np.broadcast_to(np.clip(x, 1e-6, 1.0 - 1e-10), shape).ravel()
        q = np.broadcast_to(np.sqrt(np.clip(q2, 1.0, 1e8)), shape).ravel()
        a = abs(pid)
        if pid == GLUON:
            out = self._combination(2, x, q)
        elif a in (1, 2):
            sea = self._combination(3, x, q)         # ubar + dbar
            ratio = self._combination(4, x, q)       # dbar / ubar
            bar = sea * ratio / (1.0 + ratio) if a == 1 else sea / (1.0 + ratio)
            out = bar if pid < 0 else self._combination(0 if a == 1 else 1, x, q)
        elif a in (3, 4, 5):
            out = self._combination(a + 2, x, q)
        else:
            out = np.zeros_like(x)
        return (x * out).reshape(shape)


def load_pdf(spec: str | Path | None = None) -> PDF:
    """The PDF named by ``spec``: ``None`` or ``cteq5l`` (built-in default); a path to an LHAPDF6 set directory,
    its ``.info``, or an LHAPDF5 ``.LHgrid``/``.grid`` file; or the name of an LHAPDF6 set on
    ``$LHAPDF_DATA_PATH``."""
    if spec is None or str(spec).lower() == "cteq5l":
        return CTEQ5L()
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() in (".lhgrid", ".grid"):
        return read_lhgrid(path)
    if path.is_file() and path.suffix == ".info":
        return read_lhapdf6(path.parent)
    if path.is_dir() and (path / f"{path.name}.info").is_file():
        return read_lhapdf6(path)
    for d in _lhapdf6_dirs():
        if (d / str(spec) / f"{spec}.info").is_file():
            return read_lhapdf6(d / str(spec))
    raise TinnError(
        f"PDF {str(spec)!r} not found: expected 'cteq5l', an LHAPDF6 set directory or .info, an LHAPDF5 .LHgrid "
        f"file, or a set name under LHAPDF_DATA_PATH ({os.environ.get('LHAPDF_DATA_PATH', 'unset')})"
    )
