"""The theory-informed W-polarisation tagger (Dillon & Spannowsky, Sec. 5):

    L = m_LL / (m_LT + m_TL + m_TT),

with m_XY = |M|^2 of VBF u u -> W+ W- u u where W+ has polarisation X and W- has Y (L longitudinal, T
transverse; the catalogue processes ``wwuu_XY``), all four evaluated on the SAME assignment of the event's
final-state partons to the process's slots: the true one (the optimum) or the one a trained agent found.
Longitudinal-pair events score high.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import BackendSpec, MatrixElement, build_matrix_element
from tinn_dist.processes import Process, load_process, process_names

__all__ = [
    "POLARISATIONS",
    "TAGGER_BASE_PROCESS",
    "assigned_momenta",
    "build_polarised",
    "check_same_family",
    "plot_w_masses",
    "polarisation_m2",
    "polarised_process",
    "same_family",
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
