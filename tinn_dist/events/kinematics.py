"""Four-vector helpers on numpy arrays shaped (..., 4) = (E, px, py, pz), metric (+, -, -, -)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["boost_to_rest_frame", "invariant_mass", "mass_squared", "minkowski_dot"]


def minkowski_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a·b = a0 b0 - a⃗·b⃗ over the last axis."""
    return a[..., 0] * b[..., 0] - np.sum(a[..., 1:] * b[..., 1:], axis=-1)


def mass_squared(p: np.ndarray) -> np.ndarray:
    """p² over the last axis (negative for space-like vectors)."""
    return minkowski_dot(p, p)


def invariant_mass(momenta: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """sqrt((Σ p_i)²) of the given rows of ``momenta`` shaped (..., N, 4); negative p² gives -sqrt(-p²)."""
    total = momenta[..., list(rows), :].sum(axis=-2)
    m2 = mass_squared(total)
    return np.sign(m2) * np.sqrt(np.abs(m2))


def boost_to_rest_frame(momenta: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Boost every four-vector of ``momenta`` (E, N, 4) into the rest frame of ``frame`` (E, 4) (time-like).

    Pure boost with β = P⃗/P⁰, γ = P⁰/√P²:  E' = γ(E - β·p⃗),  p⃗' = p⃗ + (γ²/(γ+1) β·p⃗ - γE) β.
    γ²/(γ+1) = (γ-1)/β² avoids 0/0 when the frame is already at rest; components with β_i = 0 stay untouched
    exactly, so a boost along z keeps px and py bit for bit.
    """
    p_e = frame[:, None, 0:1]
    beta = frame[:, None, 1:] / p_e
    gamma = p_e / np.sqrt(mass_squared(frame))[:, None, None]
    e = momenta[..., 0:1]
    vec = momenta[..., 1:]
    bp = np.sum(beta * vec, axis=-1, keepdims=True)
    out = np.empty_like(momenta)
    out[..., 0:1] = gamma * (e - bp)
    out[..., 1:] = vec + (gamma * gamma / (gamma + 1.0) * bp - gamma * e) * beta
    return out
