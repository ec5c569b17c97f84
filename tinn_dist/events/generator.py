"""The built-in parton-level event generator: unweighted pp -> process events with the built-in matrix element.

Cross section (LO, collinear factorisation), integrated over the unit hypercube u = (u_tau, u_y, u_ps...):

    sigma = int dx1 dx2 f_a(x1, muF) f_b(x2, muF) / (2 s_hat) |M|^2(alpha_s(muR)) dPhi_n,

- tau = x1 x2 = tau_min^(1 - u_tau) (log-flat above the lightest allowed final state), y = ln(x1/x2)/2 flat,
  dPhi_n from :class:`~tinn_dist.events.phase_space.PhaseSpace` (Breit-Wigner mapped t and W);
- the first initial parton comes from beam 1 (+z), the second from beam 2, as in MadGraph's samples of these
  processes (its ttw sample has the u along +z in every event: no mirrored d~ u contribution);
- scale muF = muR = MadGraph's default dynamic scale (``dynamical_scale_choice = -1``): for two top-level objects
  (tt: t and t~) it is max(mT_1, mT_2), mT = sqrt(m^2 + pT^2) with the objects' actual (off-shell) masses, which
  reproduces ``SCALUP`` of MadGraph 3.5.7's tt sample event by event. MadGraph's kT-clustering scale for more
  objects is not reproduced; there we take the geometric mean of the objects' mT (MadGraph's documented rule for
  a heavy pair, extended), whose median is within 6% (tttt) and 11% (wwuu) of MadGraph's ``SCALUP`` on its
  samples, but 60% below it for ttw;
- alpha_s(muR) from the PDF (see :mod:`tinn_dist.events.pdf`); the MatrixElement evaluates |M|^2 at a fixed
  alpha_s (``ALPHAS_REF``) and the weight is rescaled by (alpha_s(muR)/ALPHAS_REF)^k, k = the number of QCD
  vertices of the engine's diagrams;
- MadGraph's default run-card jet cuts (pT > 20 GeV, |eta| < 5, Delta R > 0.4) apply to light quarks and gluons
  that come straight from the hard process (``cut_decays = False``: none on decay products).

Adaptive importance sampling: ``vegas`` (Lepage) trains its adaptive map on the integrand; events are then drawn
by mapping uniform points through the frozen map (weight w = f(x) dx/dy, no stratification, so every point
is an independent draw with E[w] = sigma), and unweighted by hit-or-miss against the maximum weight found in a
calibration sample; events above that maximum are kept with unit weight and counted (``overweight_fraction``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import vegas
from tqdm import tqdm

from tinn_dist.errors import TinnError
from tinn_dist.events.pdf import PDF, load_pdf
from tinn_dist.events.phase_space import BW_CUTOFF, PhaseSpace
from tinn_dist.physics.diagrams import Amplitude, Current
from tinn_dist.physics.matrix_element import (
    BackendSpec,
    MatrixElement,
    build_matrix_element,
    default_param_card,
)
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import Process, load_process

__all__ = ["ALPHAS_REF", "GEV2_TO_PB", "EventGenerator", "GeneratedEvents", "GeneratorConfig", "dynamic_scale"]

GEV2_TO_PB = 0.3893793721e9  # (hbar c)^2 in GeV^2 pb
ALPHAS_REF = 0.13
JET_PT_MIN, JET_ETA_MAX, JET_DR_MIN = 20.0, 5.0, 0.4
_JETS = {1, 2, 3, 4, 21}  # MadGraph's maxjetflavor = 4: light quarks and gluons


@dataclass(frozen=True)
class GeneratorConfig:
    """process: catalogue name. sqrt_s: pp collision energy (GeV). pdf: ``None`` (built-in CTEQ5L) or what
    :func:`~tinn_dist.events.pdf.load_pdf` accepts. param_card: ``None`` = the project's card. scale_factor:
    multiplies the dynamic scale. vegas_iterations/vegas_evals: VEGAS training. calibration: weighted points
    that set the maximum weight. batch: points per integrand call. device: torch device of the matrix element."""

    process: str
    sqrt_s: float = 13000.0
    pdf: str | None = None
    param_card: str | None = None
    scale_factor: float = 1.0
    bw_cutoff: float = BW_CUTOFF
    vegas_iterations: int = 6
    vegas_evals: int = 15000
    calibration: int = 40000
    batch: int = 20000
    device: str = "cpu"

    def __post_init__(self) -> None:
        if not self.sqrt_s > 0:
            raise TinnError(f"sqrt_s must be positive, got {self.sqrt_s}")
        if not self.scale_factor > 0:
            raise TinnError(f"scale_factor must be positive, got {self.scale_factor}")
        for name in ("vegas_iterations", "vegas_evals", "calibration", "batch"):
            if getattr(self, name) < 1:
                raise TinnError(f"generator setting {name} must be >= 1, got {getattr(self, name)}")


@dataclass
class GeneratedEvents:
    """Unweighted events. momenta: (E, N, 4) MadGraph order, partonic c.m. frame. x1, x2: momentum fractions of
    beam 1 (+z, the first parton) and beam 2. scale, alphas: muF = muR and alpha_s(muR). resonances: name ->
    (E, 4) c.m.-frame momenta. stats: cross section and unweighting facts."""

    process: Process
    momenta: np.ndarray
    x1: np.ndarray
    x2: np.ndarray
    scale: np.ndarray
    alphas: np.ndarray
    resonances: dict[str, np.ndarray]
    stats: dict[str, float | int | str] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.momenta.shape[0])

    def lab_momenta(self, momenta: np.ndarray | None = None) -> np.ndarray:
        """c.m.-frame momenta (..., 4) of these events boosted to the pp frame (rapidity y = ln(x1/x2)/2)."""
        p = self.momenta if momenta is None else momenta
        y = 0.5 * np.log(self.x1 / self.x2).reshape((-1,) + (1,) * (p.ndim - 2))
        out = p.copy()
        out[..., 0] = np.cosh(y) * p[..., 0] + np.sinh(y) * p[..., 3]
        out[..., 3] = np.sinh(y) * p[..., 0] + np.cosh(y) * p[..., 3]
        return out


def dynamic_scale(objects: list[np.ndarray]) -> np.ndarray:
    """muF = muR from the momenta (B, 4) of the hard process's top-level objects (see the module docstring):
    max(mT) for two objects (MadGraph's default for tt), their geometric mean otherwise; mT^2 = E^2 - pz^2."""
    mts = np.stack([np.sqrt(np.maximum(p[..., 0] ** 2 - p[..., 3] ** 2, 0.0)) for p in objects])
    return mts.max(axis=0) if len(objects) == 2 else np.exp(np.log(np.maximum(mts, 1e-12)).mean(axis=0))


class EventGenerator:
    """pp -> ``config.process`` at ``config.sqrt_s`` with the built-in matrix element (see the module docstring)."""

    def __init__(
        self,
        config: GeneratorConfig,
        seed: int,
        *,
        process: Process | None = None,
        matrix_element: MatrixElement | None = None,
        qcd_order: int | None = None,
    ) -> None:
        """``process``/``matrix_element``/``qcd_order`` default to the catalogue entry ``config.process``, the
        built-in engine at ``ALPHAS_REF`` and the order read from its diagrams; pass them to generate a process
        outside the catalogue with another MatrixElement (evaluated at alpha_s = ``ALPHAS_REF``)."""
        self.config = config
        self.process = process or load_process(config.process)
        self.card = Path(config.param_card) if config.param_card else default_param_card()
        self.pdf: PDF = load_pdf(config.pdf)
        self.phase_space = PhaseSpace.for_process(self.process, self.card, config.bw_cutoff)
        if matrix_element is None:
            spec = BackendSpec(config.process, "builtin", ALPHAS_REF, str(self.card), device=config.device)
            matrix_element = build_matrix_element(spec)
        self.me = matrix_element
        if self.me.alphas != ALPHAS_REF:
            raise TinnError(f"the generator's matrix element must use alpha_s = {ALPHAS_REF}, got {self.me.alphas}")
        self.rng = np.random.default_rng(seed)
        self.s = config.sqrt_s**2
        self.tau_min = self.phase_space.min_mass**2 / self.s
        if not self.tau_min < 1:
            raise TinnError(f"sqrt_s = {config.sqrt_s} GeV is below the {self.process.name} threshold")
        self.dim = 2 + self.phase_space.dim
        self._jet_slots = [
            s for s in self.process.final_slots
            if abs(self.process.external[s]) in _JETS and not any(s in r.slots for r in self.process.resonances)
        ]
        self.qcd_order = self._qcd_order_of_engine() if qcd_order is None else qcd_order
        self.integrator: vegas.Integrator | None = None
        self.training: list[tuple[float, float]] = []
        self.vegas_estimate = (math.nan, math.nan)

    # -- the integrand ---------------------------------------------------------------------------------------

    def _qcd_order_of_engine(self) -> int:
        """k in |M|^2 ~ alpha_s^k: the number of QCD vertices (one g_s each) of the built-in engine's diagrams (the
        compiled diagrams and the vertex orders are the engine's documented data, ``tinn_dist.physics.diagrams``)."""
        compiled = getattr(self.me, "compiled", None)
        if compiled is None:
            raise TinnError(f"{self.process.name}: pass qcd_order for a matrix element other than the built-in engine")
        vertices = load_sm_model(self.card, ALPHAS_REF).vertices

        def qcd(node: object) -> int:
            if not isinstance(node, (Current, Amplitude)):
                return 0  # an external leg
            own = dict(vertices[node.vertex].orders).get("QCD", 0)
            return own + sum(qcd(child) for child in node.inputs)

        orders = {qcd(diagram.amplitude) for diagram in compiled.diagrams}
        if len(orders) != 1:
            raise TinnError(f"{self.process.name}: diagrams of different QCD orders {sorted(orders)}")
        return orders.pop()

    def _kinematics(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Everything about the points x (B, dim): momenta, x1, x2, scale, alpha_s and the weight in pb."""
        n = len(x)
        log_tau_min = math.log(self.tau_min)
        tau = np.exp(log_tau_min * (1.0 - x[:, 0]))
        y = (x[:, 1] - 0.5) * (-np.log(tau))
        jac = tau * (-log_tau_min) * (-np.log(tau))
        x1 = np.sqrt(tau) * np.exp(y)
        x2 = np.sqrt(tau) * np.exp(-y)
        s_hat = tau * self.s
        ps = self.phase_space.generate(x[:, 2:], np.sqrt(s_hat))
        weight = jac * ps.weight / (2.0 * s_hat) * GEV2_TO_PB
        top = [ps.resonances[name] if name in ps.resonances else ps.momenta[:, int(name[4:])] for name in ps.top_level]
        scale = self.config.scale_factor * dynamic_scale(top)
        q2 = scale**2
        alphas = self.pdf.alphas_q2(q2)
        a, b = self.process.external[:2]
        weight *= self.pdf.xfxQ2(a, x1, q2) * self.pdf.xfxQ2(b, x2, q2) / (x1 * x2)
        weight *= (alphas / ALPHAS_REF) ** self.qcd_order
        if self._jet_slots:
            weight *= self._jet_cuts(ps.momenta, 0.5 * np.log(x1 / x2))
        live = weight > 0
        m2 = np.zeros(n)
        if live.any():
            m2[live] = self.me.m2(ps.momenta[live]).cpu().numpy()
        weight = np.where(live, weight * m2, 0.0)
        return {
            "weight": weight, "momenta": ps.momenta, "x1": x1, "x2": x2, "scale": scale, "alphas": alphas,
            "resonances": ps.resonances,
        }

    def _jet_cuts(self, momenta: np.ndarray, y_boost: np.ndarray) -> np.ndarray:
        """1 where the hard-process light partons pass MadGraph's default jet cuts in the pp frame, else 0."""
        jets = momenta[:, self._jet_slots]
        pt = np.hypot(jets[..., 1], jets[..., 2])
        pabs = np.linalg.norm(jets[..., 1:], axis=-1)
        eta_cm = 0.5 * np.log(np.maximum(pabs + jets[..., 3], 1e-300) / np.maximum(pabs - jets[..., 3], 1e-300))
        eta = eta_cm + y_boost[:, None]
        ok = (pt > JET_PT_MIN) & (np.abs(eta) < JET_ETA_MAX)
        passed = ok.all(axis=1)
        phi = np.arctan2(jets[..., 2], jets[..., 1])
        for i in range(len(self._jet_slots)):
            for j in range(i + 1, len(self._jet_slots)):
                dphi = np.angle(np.exp(1j * (phi[:, i] - phi[:, j])))
                passed &= np.hypot(eta[:, i] - eta[:, j], dphi) > JET_DR_MIN
        return passed.astype(np.float64)

    def _integrand(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(x))
        for start in range(0, len(x), self.config.batch):
            out[start : start + self.config.batch] = self._kinematics(x[start : start + self.config.batch])["weight"]
        return out

    # -- adaptation, calibration, unweighting ----------------------------------------------------------------

    def adapt(self, progress: bool = False) -> tuple[float, float]:
        """Train the VEGAS map; returns its cross-section estimate (pb) and error: the inverse-variance average of
        the second half of the iterations (the first ones, before the map has adapted, are discarded)."""
        self.integrator = vegas.Integrator(
            self.dim * [[0.0, 1.0]], ran_array_generator=lambda size: self.rng.random(size)
        )
        integrand = vegas.lbatchintegrand(self._integrand)
        self.training = []
        for _ in tqdm(range(self.config.vegas_iterations), desc=f"VEGAS {self.process.name}", unit="it",
                      disable=not progress):
            result = self.integrator(integrand, nitn=1, neval=self.config.vegas_evals)
            self.training.append((float(result.mean), float(result.sdev)))
        means, sdevs = np.array(self.training[len(self.training) // 2 :]).T
        weights = np.where(sdevs > 0, 1.0 / np.maximum(sdevs, 1e-300) ** 2, 0.0)
        if not weights.sum() > 0:
            raise TinnError(f"{self.process.name}: VEGAS found no point with a non-zero weight")
        self.vegas_estimate = (float((weights * means).sum() / weights.sum()), float(weights.sum() ** -0.5))
        return self.vegas_estimate

    def _draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n points through the frozen VEGAS map: x and dx/dy."""
        assert self.integrator is not None
        y = self.rng.random((n, self.dim))
        x = np.empty_like(y)
        jac = np.empty(n)
        self.integrator.map.map(y, x, jac)
        return x, jac

    def generate(self, n_events: int, progress: bool = True) -> GeneratedEvents:
        """``n_events`` unweighted events (trains VEGAS first if :meth:`adapt` was not called)."""
        if n_events < 1:
            raise TinnError(f"number of events must be >= 1, got {n_events}")
        t0 = time.perf_counter()
        if self.integrator is None:
            self.adapt(progress)
        vegas_mean, vegas_sdev = self.vegas_estimate
        t_adapt = time.perf_counter() - t0
        # Calibration: the maximum weight of a fresh weighted sample.
        w_sum = w2_sum = 0.0
        n_points = 0
        w_max = 0.0
        for start in range(0, self.config.calibration, self.config.batch):
            x, jac = self._draw(min(self.config.batch, self.config.calibration - start))
            w = self._kinematics(x)["weight"] * jac
            w_sum, w2_sum, n_points = w_sum + w.sum(), w2_sum + (w * w).sum(), n_points + len(w)
            w_max = max(w_max, float(w.max()))
        if w_max <= 0:
            raise TinnError(f"{self.process.name}: every calibration point has zero weight")
        kept: list[dict[str, np.ndarray]] = []
        n_kept = n_over = 0
        bar = tqdm(total=n_events, desc=f"generate {self.process.name}", unit="ev", disable=not progress)
        while n_kept < n_events:
            x, jac = self._draw(self.config.batch)
            k = self._kinematics(x)
            w = k["weight"] * jac
            w_sum, w2_sum, n_points = w_sum + w.sum(), w2_sum + (w * w).sum(), n_points + len(w)
            n_over += int((w > w_max).sum())
            accept = self.rng.random(len(w)) * w_max < w
            idx = np.nonzero(accept)[0][: n_events - n_kept]
            if len(idx):
                kept.append(self._select(k, idx))
                n_kept += len(idx)
                bar.update(len(idx))
        bar.close()
        events = {key: np.concatenate([c[key] for c in kept]) for key in kept[0] if key != "resonances"}
        resonances = {name: np.concatenate([c["resonances"][name] for c in kept]) for name in kept[0]["resonances"]}
        sigma = w_sum / n_points
        error = math.sqrt(max(w2_sum / n_points - sigma**2, 0.0) / n_points)
        stats: dict[str, float | int | str] = {
            "cross_section_pb": float(sigma),
            "cross_section_error_pb": error,
            "vegas_cross_section_pb": vegas_mean,
            "vegas_cross_section_error_pb": vegas_sdev,
            "max_weight_pb": w_max,
            "unweighting_efficiency": float(sigma / w_max),
            "overweight_fraction": n_over / max(n_points - self.config.calibration, 1),
            "weighted_points": n_points,
            "qcd_order": self.qcd_order,
            "pdf": self.pdf.describe(),
            "sqrt_s_gev": self.config.sqrt_s,
            "seconds_adapt": t_adapt,
            "seconds_total": time.perf_counter() - t0,
        }
        return GeneratedEvents(
            process=self.process,
            momenta=events["momenta"],
            x1=events["x1"],
            x2=events["x2"],
            scale=events["scale"],
            alphas=events["alphas"],
            resonances=resonances,
            stats=stats,
        )

    @staticmethod
    def _select(k: dict, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The accepted points ``idx`` of one batch."""
        keep = {key: k[key][idx] for key in ("momenta", "x1", "x2", "scale", "alphas")}
        keep["resonances"] = {name: p[idx] for name, p in k["resonances"].items()}
        return keep
