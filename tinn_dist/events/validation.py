"""Observables that compare generated events with MadGraph's: decay-level ones (independent of PDFs and scales)
and production-level ones (which carry the PDF/scale choice).

Decay level, for every resonance r of the process's decay tree:
- ``m_<r>``: its invariant mass (sum of its slots);
- ``cos_<r>``: cos(theta*) of its first directly emitted parton (t: the b; W+: the u; W-: the ubar) in the rest
  frame of r, measured from r's flight direction in its parent's rest frame (the partonic c.m. frame for t and
  tbar; the top's rest frame for a W from a top) - the helicity angle, for a t the b-W axis against the top
  direction, for a W the W-decay angle.
Production level (pp frame): ``m_<a><b>`` of the top-level resonances, and ``pt_<r>``, ``y_<r>`` of each.
"""

from __future__ import annotations

import numpy as np

from tinn_dist.events.kinematics import boost_to_rest_frame, mass_squared
from tinn_dist.processes import Process

__all__ = ["decay_observables", "production_observables"]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _helicity_cos(daughter: np.ndarray, resonance: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """cos of the daughter's direction in the resonance frame against the resonance's direction in the parent
    frame (the usual helicity angle: boost parent -> resonance along the resonance's flight axis)."""
    in_parent = boost_to_rest_frame(np.stack([resonance, daughter], axis=1), parent)
    res_dir = _unit(in_parent[:, 0, 1:])
    in_res = boost_to_rest_frame(in_parent[:, 1:2], in_parent[:, 0])[:, 0]
    return np.sum(_unit(in_res[:, 1:]) * res_dir, axis=-1)


def decay_observables(process: Process, momenta: np.ndarray) -> dict[str, np.ndarray]:
    """Decay-level observables of events ``momenta`` (E, N, 4) in the process's external order, c.m. frame."""
    out: dict[str, np.ndarray] = {}
    by_name = {r.name: r for r in process.resonances}
    cm = momenta[:, 0] + momenta[:, 1]
    for r in process.resonances:
        q = momenta[:, list(r.slots)].sum(axis=1)
        out[f"m_{r.name}"] = np.sqrt(np.maximum(mass_squared(q), 0.0))
        covered = {s for c in process.resonances if c.parent == r.name for s in c.slots}
        first = next(s for s in r.slots if s not in covered)
        parent = momenta[:, list(by_name[r.parent].slots)].sum(axis=1) if r.parent else cm
        out[f"cos_{r.name}"] = _helicity_cos(momenta[:, first], q, parent)
    return out


def production_observables(process: Process, lab_momenta: np.ndarray) -> dict[str, np.ndarray]:
    """Production-level observables of events ``lab_momenta`` (E, N, 4) in external order, pp frame."""
    out: dict[str, np.ndarray] = {}
    top = [r for r in process.resonances if r.parent is None]
    qs = {r.name: lab_momenta[:, list(r.slots)].sum(axis=1) for r in top}
    if len(top) >= 2:
        a, b = top[0].name, top[1].name
        out[f"m_{a}{b}"] = np.sqrt(np.maximum(mass_squared(qs[a] + qs[b]), 0.0))
    for name, q in qs.items():
        out[f"pt_{name}"] = np.hypot(q[:, 1], q[:, 2])
        out[f"y_{name}"] = 0.5 * np.log((q[:, 0] + q[:, 3]) / (q[:, 0] - q[:, 3]))
    return out
