"""ROC curve, AUC and 1/ε_b at fixed ε_s on hand-made score lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinn_dist.analysis.roc import auc, inverse_background_efficiency, plot_roc, roc_curve, roc_summary
from tinn_dist.errors import TinnError


def _mann_whitney(signal: np.ndarray, background: np.ndarray) -> float:
    """P(s > b) + P(s = b)/2 over all pairs, by brute force."""
    s, b = np.asarray(signal)[:, None], np.asarray(background)[None, :]
    return float(((s > b) + 0.5 * (s == b)).mean())


def test_known_lists() -> None:
    curve = roc_curve([0.9, 0.8, 0.3], [0.7, 0.2, 0.1])
    assert auc(curve) == pytest.approx(8 / 9)  # 8 of the 9 signal-background pairs are ordered right
    assert auc(roc_curve([5.0, 6.0], [1.0, 2.0])) == 1.0
    assert auc(roc_curve([1.0, 2.0], [5.0, 6.0])) == 0.0
    assert auc(roc_curve([1.0, 1.0], [1.0])) == 0.5  # ties count one half
    np.testing.assert_allclose(curve.eps_s, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(curve.eps_b, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1])


def test_auc_is_the_mann_whitney_statistic_with_ties() -> None:
    rng = np.random.default_rng(3)
    signal = np.round(rng.normal(0.7, 1.0, 300), 1)  # rounding makes many ties
    background = np.round(rng.normal(0.0, 1.0, 400), 1)
    curve = roc_curve(signal, background)
    assert auc(curve) == pytest.approx(_mann_whitney(signal, background), abs=1e-12)
    assert (np.diff(curve.eps_s) >= 0).all() and (np.diff(curve.eps_b) >= 0).all()
    assert (curve.eps_s[0], curve.eps_b[0], curve.eps_s[-1], curve.eps_b[-1]) == (0, 0, 1, 1)
    # a monotonic transformation of the score (1/m vs -log m) changes nothing
    assert auc(roc_curve(np.exp(signal), np.exp(background))) == auc(curve)


def test_inverse_background_efficiency() -> None:
    curve = roc_curve([3.0, 1.0], [2.0, 0.0])  # points (eps_b, eps_s): (0,0) (0,.5) (.5,.5) (.5,1) (1,1)
    assert math.isinf(inverse_background_efficiency(curve, 0.3))  # reached before any background passes
    assert inverse_background_efficiency(curve, 0.75) == pytest.approx(2.0)
    assert inverse_background_efficiency(curve, 1.0) == pytest.approx(2.0)
    tied = roc_curve([1.0] * 4, [1.0] * 2)  # one diagonal segment: eps_b = eps_s on it
    assert inverse_background_efficiency(tied, 0.3) == pytest.approx(1 / 0.3)
    ten = roc_curve(np.arange(10, 0, -1.0), np.arange(10) - 0.5)  # one background (8.5) above signal 8
    assert inverse_background_efficiency(ten, 0.3) == pytest.approx(1 / 0.1)
    with pytest.raises(TinnError, match="signal efficiency"):
        inverse_background_efficiency(curve, 0.0)


def test_summary_and_bad_input(tmp_path) -> None:
    s = roc_summary([2.0, 3.0], [1.0], eps_s=0.3)
    assert s == {"auc": 1.0, "inv_eps_b": None, "eps_s": 0.3, "n_signal": 2, "n_background": 1}
    with pytest.raises(TinnError, match="no signal events"):
        roc_curve([], [1.0])
    with pytest.raises(TinnError, match="background score of event 1 is nan"):
        roc_curve([1.0], [0.0, np.nan])
    out = plot_roc({"a": roc_curve([1.0, 2.0], [0.5, 1.5])}, tmp_path / "roc.png", "test", inverse=True)
    assert out.stat().st_size > 1000
