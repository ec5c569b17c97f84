"""The theory-informed W-polarisation tagger (Dillon & Spannowsky, Sec. 5):

    L = m_LL / (m_LT + m_TL + m_TT),

with m_XY = |M|^2 of VBF u u -> W+ W- u u where W+ has polarisation X and W- has Y (L longitudinal, T
transverse; the catalogue processes ``wwuu_XY``), all four evaluated on the SAME assignment of the event's
final-state partons to the process's slots: the true one (the optimum) or the one a trained agent found.
Longitudinal-pair events score high.

Light-quark jets carry no measurable charge, so the assignment is only defined up to relabelings the reward
barely sees (W+ <-> W-, each W's decay orientation): L at a single assignment throws away the rest of the
likelihood. Summing each polarised |M|^2 over a set of assignments before taking the ratio,

    L_S = sum_{s in S} m_LL(s) / sum_{s in S} (m_LT + m_TL + m_TT)(s),

is the likelihood ratio of the flavour-blind event when S holds every assignment ("marginal", (N-2)! of them);
the agent's beam shortlist is a cheap S that holds the assignments that dominate the sum ("learned_sum").
No score of the flavour-blind event separates the samples better than their likelihood ratio summed over every
assignment (Neyman-Pearson), with each sample's density |M|^2/sigma: `likelihood_ratio`, the "bound".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import permutations
from pathlib import Path

import numpy as np

from tinn_dist.analysis.evaluate import symmetry_maps
from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import BackendSpec, MatrixElement, build_matrix_element
from tinn_dist.processes import Process, load_process, process_names
from tinn_dist.rl.search import arrangement_codes

__all__ = [
    "POLARISATIONS",
    "TAGGER_BASE_PROCESS",
    "assigned_momenta",
    "build_polarised",
    "check_same_family",
    "distinct_assignments",
    "likelihood_ratio",
    "marginal_m2",
    "plot_w_masses",
    "polarisation_m2",
    "polarised_process",
    "same_family",
    "summed_polarisation_m2",
    "tagger_score",
]

POLARISATIONS = ("LL", "LT", "TL", "TT")  # (W+, W-) polarisations, in the order of `tinn tag --events`
TAGGER_BASE_PROCESS = "wwuu"

_POLARISATION_MARK = re.compile(r"\{[^}]*\}")  # MadGraph's w+{0} / w-{T} polarisation syntax


def polarised_process(pol: str, base: str = TAGGER_BASE_PROCESS) -> str:
    """Catalogue name of ``base`` with polarisations ``pol`` (``LL``, ``LT``, ``TL``, ``TT``)."""
    if pol not in POLARISATIONS:
        raise TinnError(f"polarisation {pol!r} is unknown; expected one of {POLARISATIONS}")
    return f"{base}_{pol}"


def same_family(a: Process, b: Process) -> bool:
    """True when the two processes differ at most by the polarisations of their resonances (same legs, same
    MadGraph process otherwise): an agent trained on one assigns the other's events."""
    return a.external == b.external and _unpolarised(a) == _unpolarised(b)


def _unpolarised(process: Process) -> list[str]:
    return _POLARISATION_MARK.sub("", process.madgraph).split()


def check_same_family(expected: str, got: str, source: str) -> None:
    """TinnError naming ``source`` unless an agent of ``expected`` can assign events of process ``got``."""
    if got not in process_names() or not same_family(load_process(expected), load_process(got)):
        raise TinnError(
            f"{source}: events are of process {got!r}; expected {expected!r} events "
            "(or a polarised variant of it) for this checkpoint"
        )


def build_polarised(
    backend: str = "builtin",
    madgraph_dirs: Mapping[str, str] | None = None,
    alphas: float = 0.13,
    param_card: str | None = None,
    device: str = "cpu",
) -> dict[str, MatrixElement]:
    """The four polarised matrix elements {pol: MatrixElement}; madgraph needs one P1 directory per pol."""
    out = {}
    for pol in POLARISATIONS:
        mg_dir = None
        if backend == "madgraph":
            if not madgraph_dirs or pol not in madgraph_dirs:
                raise TinnError(
                    f"the madgraph backend needs a SubProcesses/P1_* directory for {polarised_process(pol)}"
                )
            mg_dir = madgraph_dirs[pol]
        spec = BackendSpec(
            process=polarised_process(pol),
            backend=backend,
            alphas=alphas,
            param_card=param_card,
            madgraph_dir=mg_dir,
            device=device,
        )
        out[pol] = build_matrix_element(spec)
    return out


def assigned_momenta(momenta: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """(E, N, 4) momenta in slot order: slot s of event e holds stored particle ``perm[e, s]``."""
    return np.take_along_axis(np.asarray(momenta, dtype=np.float64), np.asarray(perm)[..., None], axis=1)


def polarisation_m2(
    mes: Mapping[str, MatrixElement], momenta: np.ndarray, perm: np.ndarray, chunk: int = 2048
) -> dict[str, np.ndarray]:
    """{pol: |M|^2 (E,)} of every polarised matrix element at the assignments ``perm`` (E, N)."""
    p = assigned_momenta(momenta, perm)
    starts = range(0, len(p), chunk)
    return {
        pol: np.concatenate([np.zeros(0)] + [me.m2(p[k : k + chunk]).cpu().numpy() for k in starts])
        for pol, me in mes.items()
    }


def distinct_assignments(process: Process, perm: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``valid`` (E, C) with every candidate of ``perm`` (E, C, N) that is physically the same assignment as an
    earlier one (exchanged identical branches, e.g. the two VBF jets) switched off: each is counted once."""
    codes = np.stack([arrangement_codes(perm[..., sigma]) for sigma in symmetry_maps(process)])
    canonical = codes.min(axis=0)  # (E, C)
    out = np.asarray(valid, dtype=bool).copy()
    for c in range(1, perm.shape[1]):
        out[:, c] &= ~((canonical[:, :c] == canonical[:, c : c + 1]) & out[:, :c]).any(axis=1)
    return out


def summed_polarisation_m2(
    mes: Mapping[str, MatrixElement], momenta: np.ndarray, perm: np.ndarray, valid: np.ndarray
) -> dict[str, np.ndarray]:
    """{pol: sum over the valid candidates of |M|^2 (E,)} for candidate assignments ``perm`` (E, C, N)."""
    n_events, n_cand, n = perm.shape
    m = polarisation_m2(mes, np.repeat(momenta, n_cand, axis=0), perm.reshape(-1, n))
    return {pol: np.where(valid, v.reshape(n_events, n_cand), 0.0).sum(axis=1) for pol, v in m.items()}


def marginal_m2(
    mes: Mapping[str, MatrixElement], momenta: np.ndarray, chunk: int = 16
) -> dict[str, np.ndarray]:
    """{pol: sum of |M|^2 over all (N-2)! assignments of the final state (E,)}: the flavour-blind likelihood.
    Costs (N-2)! calls per polarisation and event (720 for VBF WW)."""
    n = momenta.shape[1]
    every = np.array([[0, 1, *p] for p in permutations(range(2, n))], dtype=np.int64)
    out: dict[str, list[np.ndarray]] = {pol: [] for pol in mes}
    for k in range(0, len(momenta), chunk):
        block = momenta[k : k + chunk]
        perm = np.broadcast_to(every, (len(block), *every.shape))
        for pol, v in summed_polarisation_m2(mes, block, perm, np.ones(perm.shape[:2], bool)).items():
            out[pol].append(v)
    return {pol: np.concatenate(v) for pol, v in out.items()}


def likelihood_ratio(
    m: Mapping[str, np.ndarray], sigma: Mapping[str, float], signal: str, background: tuple[str, ...]
) -> np.ndarray:
    """(m_signal/σ_signal) / Σ_b (m_b/σ_b): the Neyman-Pearson optimal score for ``signal`` events against an
    equal mixture of the ``background`` samples, each polarised sample's event density being |M|^2/σ (same
    initial state, PDFs and cuts for all). With m summed over every assignment: the flavour-blind optimum."""
    bad = [pol for pol in (signal, *background) if not (np.isfinite(sigma[pol]) and sigma[pol] > 0)]
    if bad:
        raise TinnError(f"cross section of sample(s) {bad} must be finite and > 0 (the events' mean weight)")
    return (np.asarray(m[signal]) / sigma[signal]) / sum(np.asarray(m[b]) / sigma[b] for b in background)


def tagger_score(m: Mapping[str, np.ndarray]) -> np.ndarray:
    """L = m_LL / (m_LT + m_TL + m_TT) per event."""
    missing = [pol for pol in POLARISATIONS if pol not in m]
    if missing:
        raise TinnError(f"tagger score needs |M|^2 for every polarisation; missing {missing}")
    return np.asarray(m["LL"]) / (np.asarray(m["LT"]) + np.asarray(m["TL"]) + np.asarray(m["TT"]))


def plot_w_masses(
    truth: Mapping[str, np.ndarray], learned: Mapping[str, np.ndarray] | None, out: str | Path
) -> Path:
    """One panel per W: mass under the true assignment, and under the learned one when given (Figs. 7-8)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(truth)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    bins = np.linspace(0.0, 200.0, 81)
    for ax, name in zip(axes.flat, names):
        ax.hist(
            np.clip(truth[name], bins[0], bins[-1]),
            bins=bins,
            histtype="stepfilled",
            alpha=0.4,
            label="true assignment",
        )
        if learned is not None:
            ax.hist(
                np.clip(learned[name], bins[0], bins[-1]),
                bins=bins,
                histtype="step",
                linewidth=1.5,
                label="learned assignment",
            )
        ax.set_title(name)
        ax.set_xlabel("reconstructed mass [GeV] (last bin: overflow)")
        ax.set_yscale("log")
    axes.flat[0].set_ylabel("events")
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return Path(out)
