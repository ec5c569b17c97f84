"""Beam search over the agent's Q-values (tinn_dist/rl/search.py) on real tt events and the real engine."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
import torch
from rl_support import needs_builtin, tt_events, tt_matrix_element
from torch import nn

from tinn_dist.distributed.config import load_train_config
from tinn_dist.processes import config_dir
from tinn_dist.rl.builder import build_qnet
from tinn_dist.rl.env import AssignmentEnv
from tinn_dist.rl.search import beam_search

pytestmark = needs_builtin
torch.set_num_threads(1)
MIRROR = np.array([0, 1, 5, 6, 7, 2, 3, 4])  # three disjoint swaps of the stored order


def _key(p: np.ndarray) -> tuple[float, ...]:
    """A four-momentum as the network sees it (float32), to recover which stored particle sits in a slot."""
    return tuple(np.asarray(p, dtype=np.float32).tolist())


class HiddenTarget(nn.Module):
    """Q(s, a) = g(s after a) - g(s) with g = 10 at one arrangement per event (three swaps from the start),
    -1 at every other moved arrangement: each first step looks alike, only looking three steps ahead finds it."""

    def __init__(self, momenta: np.ndarray, pairs: np.ndarray) -> None:
        super().__init__()
        self.where = {_key(p): (k, n) for k, event in enumerate(momenta) for n, p in enumerate(event)}
        self.pairs = pairs

    @staticmethod
    def score(perm: np.ndarray) -> float:
        if (perm == MIRROR).all():
            return 10.0
        return 0.0 if (perm == np.arange(len(perm))).all() else -1.0

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        q = torch.zeros(len(obs), 1 + len(self.pairs))
        for row, slots in enumerate(obs.numpy()):
            perm = np.array([self.where[_key(p)][1] for p in slots])
            g0 = self.score(perm)
            for a, (i, j) in enumerate(self.pairs, start=1):
                after = perm.copy()
                after[[i, j]] = after[[j, i]]
                q[row, a] = self.score(after) - g0
        return q


def test_beam_looks_past_steps_that_look_alike() -> None:
    events = tt_events(4)
    env = AssignmentEnv(tt_matrix_element(), events.momenta)
    net = HiddenTarget(env.momenta, env.pairs)
    idx = np.arange(len(env))
    perm, m, m_start = beam_search(env, net, idx, width=1000)
    assert (perm == MIRROR).all()
    np.testing.assert_allclose(m, env.m2(idx, perm), rtol=1e-12)
    np.testing.assert_allclose(m_start, env.m2(idx, np.broadcast_to(np.arange(8), (4, 8))), rtol=1e-12)
    narrow, _, _ = beam_search(env, net, idx, width=1)
    assert not (narrow == MIRROR).all(axis=1).any()


def test_wide_beam_finds_the_best_learned_score_of_all_720_arrangements() -> None:
    """For the afterstate network the path's Q sum is g(end) - g(start): a beam wide enough is exhaustive in g."""
    cfg = load_train_config(config_dir() / "tt.yaml")[0].replace(
        qnet={"hidden": 16}
    )
    torch.manual_seed(1)
    net = build_qnet(cfg).eval()
    events = tt_events(3)
    env = AssignmentEnv(tt_matrix_element(), events.momenta)
    perm, _, _ = beam_search(env, net, np.arange(3), width=720)
    every = np.array([(0, 1, *p) for p in permutations(range(2, 8))])
    with torch.no_grad():
        for k in range(3):
            x = torch.from_numpy(env.momenta[k][every]).float()
            g = net.scores(x, torch.zeros(len(every), 1, dtype=torch.int64))[:, 0].numpy()
            assert (perm[k] == every[g.argmax()]).all()


def test_width_must_be_positive() -> None:
    env = AssignmentEnv(tt_matrix_element(), tt_events(1).momenta)
    with pytest.raises(ValueError, match="beam width"):
        beam_search(env, HiddenTarget(env.momenta, env.pairs), np.arange(1), width=0)


def test_candidates_scored_by_the_matrix_element() -> None:
    """With every arrangement shortlisted, the |M|^2 rerank is the exhaustive argmax; fewer never beat it."""
    events = tt_events(3)
    env = AssignmentEnv(tt_matrix_element(), events.momenta)
    net = HiddenTarget(env.momenta, env.pairs)
    idx = np.arange(3)
    every = np.array([(0, 1, *p) for p in permutations(range(2, 8))])
    m_all = env.m2(np.repeat(idx, len(every)), np.tile(every, (3, 1))).reshape(3, -1)
    _, m_full, _ = beam_search(env, net, idx, width=720, candidates=720)
    np.testing.assert_allclose(m_full, m_all.max(axis=1), rtol=1e-12)
    _, m_one, _ = beam_search(env, net, idx, width=8, candidates=1)
    _, m_few, _ = beam_search(env, net, idx, width=8, candidates=8)
    assert np.all(m_few >= m_one) and np.all(m_few <= m_full)
