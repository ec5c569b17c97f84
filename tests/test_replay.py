"""The reward-binned replay: bin edges, routing, ring overwrite, even sampling and the empty-bin rule."""

from __future__ import annotations

import numpy as np
import pytest

from tinn_dist.errors import TinnError
from tinn_dist.rl.replay import RewardBinnedReplay, reward_bin
from tinn_dist.rl.transitions import Transitions

N, D = 8, 16


def chunk(rewards: list[float] | np.ndarray, tag: float = 0.0) -> Transitions:
    """Transitions whose obs[:, 0, 0] is a running id (tag + row) so sampled rows can be traced back."""
    r = np.asarray(rewards, dtype=np.float32)
    n = len(r)
    obs = np.zeros((n, N, 4), np.float32)
    obs[:, 0, 0] = tag + np.arange(n)
    return Transitions(obs, np.arange(n) % D, r, obs + 1, np.ones((n, D), bool), np.zeros(n, bool))


def test_bin_edges_follow_the_paper() -> None:
    r = np.array([-10.001, -10.0, -3.0, 0.0, 1e-9, 10.0, 10.001])
    assert reward_bin(r).tolist() == [0, 1, 1, 1, 2, 2, 3]


def test_rows_are_routed_to_their_bin_and_rings_overwrite_oldest() -> None:
    replay = RewardBinnedReplay(capacity_per_bin=3, n_slots=N, n_actions=D)
    replay.add(chunk([-20, -5, 5, 20, -5, -5, -5], tag=0))
    assert replay.sizes() == [1, 3, 1, 1] and len(replay) == 6 and replay.added == 7
    # bin 1 saw rows 1, 4, 5, 6 (ids); capacity 3 keeps the newest three
    kept = sorted(replay.bins[1].data.obs[:3, 0, 0].tolist())
    assert kept == [4.0, 5.0, 6.0]
    big = RewardBinnedReplay(capacity_per_bin=2, n_slots=N, n_actions=D)
    big.add(chunk([1, 2, 3, 4, 5], tag=100))  # one chunk larger than the ring
    assert sorted(big.bins[2].data.obs[:, 0, 0].tolist()) == [103.0, 104.0]


def test_sampling_is_even_across_bins_and_rows_come_from_their_bin() -> None:
    replay = RewardBinnedReplay(capacity_per_bin=1000, n_slots=N, n_actions=D, seed=3)
    rng = np.random.default_rng(0)
    # heavily unbalanced input: 900 in [-10, 0], 10 in each other bin
    rewards = np.concatenate(
        [rng.uniform(-9, -1, 900), rng.uniform(-30, -11, 10), rng.uniform(1, 9, 10), rng.uniform(11, 30, 10)]
    )
    replay.add(chunk(rewards))
    batch = replay.sample(400)
    assert len(batch) == 400
    assert np.bincount(reward_bin(batch.reward), minlength=4).tolist() == [100, 100, 100, 100]
    ids = batch.obs[:, 0, 0].astype(int)
    np.testing.assert_array_equal(batch.reward, rewards.astype(np.float32)[ids])  # columns stay aligned
    np.testing.assert_array_equal(batch.next_obs, batch.obs + 1)


def test_empty_bins_share_the_batch_evenly_among_the_others() -> None:
    replay = RewardBinnedReplay(capacity_per_bin=100, n_slots=N, n_actions=D, seed=1)
    replay.add(chunk([-1.0] * 50 + [2.0] * 3))
    counts = np.bincount(reward_bin(replay.sample(33).reward), minlength=4)
    assert counts[[0, 3]].tolist() == [0, 0] and sorted(counts[[1, 2]].tolist()) == [16, 17]


def test_empty_replay_and_bad_chunks_are_refused() -> None:
    replay = RewardBinnedReplay(capacity_per_bin=10, n_slots=N, n_actions=D)
    with pytest.raises(TinnError, match="empty replay"):
        replay.sample(4)
    with pytest.raises(TinnError, match="non-finite reward"):
        replay.add(chunk([1.0, float("nan")]))
    bad = chunk([1.0])
    bad.next_mask = np.ones((1, D + 1), bool)
    with pytest.raises(TinnError, match="this replay holds"):
        replay.add(bad)
