"""The batched assignment environment and its gymnasium view, on real tt events with the built-in engine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from rl_support import needs_builtin, tt_events, tt_matrix_element

from tinn_dist.distributed.config import load_train_config
from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import MatrixElement
from tinn_dist.processes import config_dir
from tinn_dist.rl.actor import EpisodeRunner
from tinn_dist.rl.builder import build_qnet
from tinn_dist.rl.env import AssignmentEnv, AssignmentGymEnv, n_actions, swap_pairs

# Two shared cores: one torch thread avoids oversubscription (2 threads on a busy machine run ~8x slower).
torch.set_num_threads(1)


def test_action_space_sizes() -> None:
    # d_A = 1 + (N-2)(N-3)/2: tt/wwuu N=8 -> 16, ttw N=10 -> 29, tttt N=14 -> 67
    assert [n_actions(n) for n in (8, 10, 14)] == [16, 29, 67]
    pairs = swap_pairs(8)
    assert len(pairs) == 15 and pairs.min() == 2 and pairs.max() == 7
    assert (pairs[:, 0] < pairs[:, 1]).all() and len({tuple(p) for p in pairs}) == 15


class CountingME(MatrixElement):
    """The real built-in engine, counting how many batched calls reach it."""

    def __init__(self, inner: MatrixElement) -> None:
        self.inner, self.process, self.alphas, self.calls = inner, inner.process, inner.alphas, 0

    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner._m2(momenta)


@needs_builtin
def test_lockstep_episode_rewards_masks_and_one_call_per_step() -> None:
    events = tt_events(64)
    me = CountingME(tt_matrix_element())
    env = AssignmentEnv(me, events.momenta)
    idx = np.arange(64)
    batch = env.reset(idx)
    assert np.array_equal(batch.perm, np.broadcast_to(np.arange(8), (64, 8)))
    np.testing.assert_allclose(batch.m, me.m2(events.momenta).numpy(), rtol=1e-12)
    rng = np.random.default_rng(0)
    total = np.zeros(64)
    for t in range(env.n_steps):
        mask = env.legal_mask(batch)
        assert mask[:, 0].all()  # do-nothing is always legal
        actions = np.where(mask, rng.random(mask.shape), -1).argmax(axis=1)
        actions[:8] = 0  # some episodes do nothing this step
        m_before, calls_before = batch.m.copy(), me.calls
        rewards, done = env.step(batch, actions)
        assert me.calls == calls_before + 1  # ONE batched matrix-element call per step
        assert done == (t == env.n_steps - 1)
        assert (rewards[:8] == 0).all()
        fresh = me.m2(env.gather(idx, batch.perm)).numpy()
        np.testing.assert_allclose(batch.m, fresh, rtol=1e-12)  # cached m is the current state's m
        np.testing.assert_allclose(rewards, np.log(fresh / m_before), rtol=1e-9, atol=1e-12)
        swapped = actions != 0
        assert (
            batch.used[swapped, actions[swapped]].all()
            and not env.legal_mask(batch)[swapped, actions[swapped]].any()
        )
        total += rewards
    assert (batch.perm[:, :2] == [0, 1]).all()  # initial slots never move
    np.testing.assert_allclose(total, np.log(batch.m / batch.m_start), rtol=1e-9, atol=1e-9)
    with pytest.raises(TinnError, match="ended"):
        env.step(batch, np.zeros(64, dtype=np.int64))


@needs_builtin
def test_runner_evaluates_a_whole_batch_in_one_call_with_the_rewards_of_stepping() -> None:
    """EpisodeRunner.run moves the batch through every step and settles |M|^2 in ONE engine call; stepping the
    same actions one ME call at a time gives the same transitions, final state and counters."""
    events = tt_events(48)
    cfg = load_train_config(config_dir() / "tt.yaml")[0].replace(qnet={"kind": "afterstate", "hidden": 16})
    torch.manual_seed(0)
    me = CountingME(tt_matrix_element())
    runner = EpisodeRunner(AssignmentEnv(me, events.momenta), build_qnet(cfg), seed=3)
    idx = np.arange(48)[::-1].copy()
    chunk, final = runner.run(idx, np.where(idx % 2 == 0, 0.7, 0.0))
    assert me.calls == 1 and runner.env.env_steps == 48 * runner.env.n_steps
    stepped = AssignmentEnv(CountingME(tt_matrix_element()), events.momenta)
    batch = stepped.reset(idx)
    np.testing.assert_allclose(final.m_start, batch.m, rtol=1e-12)
    steps = chunk.select(np.arange(len(chunk)).reshape(stepped.n_steps, 48))  # (T, B, ...) columns
    for t in range(stepped.n_steps):
        assert np.array_equal(steps.obs[t], stepped.obs(batch))
        rewards, done = stepped.step(batch, steps.action[t])
        np.testing.assert_allclose(steps.reward[t], rewards, rtol=1e-6, atol=1e-6)
        assert np.array_equal(steps.next_mask[t], stepped.legal_mask(batch)) and (steps.done[t] == done).all()
    assert np.array_equal(final.perm, batch.perm) and (steps.action != 0).any()
    np.testing.assert_allclose(final.m, batch.m, rtol=1e-12)
    assert (runner.env.me_evals, runner.env.env_steps) == (stepped.me_evals, stepped.env_steps)
    lazy = stepped.reset(idx, evaluate=False)
    with pytest.raises(TinnError, match="evaluate=False"):
        stepped.step(lazy, np.zeros(48, dtype=np.int64))
    # The paper's way (one call per step) in the runner: same transitions from the same seed and weights.
    per_step_me = CountingME(tt_matrix_element())
    per_step = EpisodeRunner(
        AssignmentEnv(per_step_me, events.momenta), runner.qnet, seed=3, me_call_per_rollout=False
    )
    chunk2, final2 = per_step.run(idx, np.where(idx % 2 == 0, 0.7, 0.0))
    assert per_step_me.calls == 1 + per_step.env.n_steps
    assert np.array_equal(chunk2.action, chunk.action) and np.array_equal(final2.perm, final.perm)
    np.testing.assert_allclose(chunk2.reward, chunk.reward, rtol=1e-6, atol=1e-6)


@needs_builtin
def test_used_swap_is_rejected() -> None:
    env = AssignmentEnv(tt_matrix_element(), tt_events(4).momenta)
    batch = env.reset(np.arange(4))
    env.step(batch, np.array([3, 0, 0, 0]))
    with pytest.raises(TinnError, match="action 3 of episode 0 is a swap already used"):
        env.step(batch, np.array([3, 0, 0, 0]))


class CorruptingME(MatrixElement):
    """The real engine with the last row's value replaced: a backend failure the environment must report."""

    def __init__(self, inner: MatrixElement, bad_value: float) -> None:
        self.inner, self.process, self.alphas, self.bad = inner, inner.process, inner.alphas, bad_value

    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        m = self.inner._m2(momenta).clone()
        m[-1] = self.bad
        return m


@needs_builtin
@pytest.mark.parametrize("bad", [0.0, -1e-12, float("nan")])
def test_non_positive_or_nan_matrix_element_names_the_event(bad: float) -> None:
    env = AssignmentEnv(CorruptingME(tt_matrix_element(), bad), tt_events(9).momenta)
    batch_events = np.array([8, 2, 5])  # batch row 2 is event 5
    with pytest.raises(TinnError, match=r"environment: event 5, slot order \[0, 1, 2, 3, 4, 5, 6, 7\]"):
        env.reset(batch_events)


@needs_builtin
def test_gymnasium_view_passes_the_env_checker_and_masks() -> None:
    gym_env = AssignmentGymEnv(AssignmentEnv(tt_matrix_element(), tt_events(16).momenta))
    check_env(gym_env, skip_render_check=True)
    obs, info = gym_env.reset(seed=1, options={"event": 3})
    assert info["event"] == 3 and obs["momenta"].shape == (8, 4) and obs["action_mask"].all()
    obs, reward, terminated, truncated, info = gym_env.step(5)
    assert obs["action_mask"][5] == 0 and not info["illegal_action"] and np.isfinite(reward)
    obs, reward, terminated, truncated, info = gym_env.step(5)  # used swap -> applied as do-nothing
    assert info["illegal_action"] and reward == 0.0
    for _ in range(3):
        obs, reward, terminated, truncated, info = gym_env.step(0)
    assert terminated and not truncated
