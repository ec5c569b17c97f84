"""The DQN update, masking in the target and in action choice, the ε schedule, weights and versions."""

from __future__ import annotations

import numpy as np
import torch

from tinn_dist.rl.actor import select_actions
from tinn_dist.rl.config import DQNConfig, ExplorationConfig, QNetConfig
from tinn_dist.rl.dqn import MASK_VALUE, DQNLearner, dqn_loss
from tinn_dist.rl.qnet import QNetwork
from tinn_dist.rl.schedule import EpsilonSchedule
from tinn_dist.rl.transitions import Transitions

# Two shared cores: one torch thread avoids oversubscription (2 threads on a busy machine run ~8x slower).
torch.set_num_threads(1)

SMALL = QNetConfig(d_model=16, n_layers=1, n_heads=2, ff_dim=16, hidden=16, dropout=0.0)


def constant_net(values: list[float]) -> QNetwork:
    """A real Q-network whose last layer is zeroed so that Q(s, ·) = ``values`` for every state."""
    net = QNetwork(SMALL, n_slots=8, n_actions=len(values))
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.copy_(torch.tensor(values))
    return net.eval()


def batch(n: int = 2, done: bool = False, mask: list[bool] | None = None) -> dict[str, torch.Tensor]:
    d = 4
    m = torch.tensor(mask if mask is not None else [True] * d).repeat(n, 1)
    return {
        "obs": torch.randn(n, 8, 4) * 100,
        "action": torch.zeros(n, dtype=torch.int64),
        "reward": torch.tensor([1.5] * n),
        "next_obs": torch.randn(n, 8, 4) * 100,
        "next_mask": m,
        "done": torch.full((n,), done),
    }


def test_target_max_ignores_illegal_actions() -> None:
    policy, target = constant_net([0.0, 0.0, 0.0, 0.0]), constant_net([1.0, 50.0, 3.0, -2.0])
    _, info = dqn_loss(policy, target, batch(mask=[True, False, True, True]), gamma=0.5, double=False)
    assert info["target_mean"] == 1.5 + 0.5 * 3.0  # action 1 (Q = 50) is illegal in s'
    _, info = dqn_loss(policy, target, batch(mask=[True, True, True, True]), gamma=0.5, double=False)
    assert info["target_mean"] == 1.5 + 0.5 * 50.0
    _, info = dqn_loss(policy, target, batch(done=True), gamma=0.5, double=False)
    assert info["target_mean"] == 1.5
    _, info = dqn_loss(policy, target, batch(done=True), gamma=0.5, double=False, reward_scale=0.1)
    assert abs(info["target_mean"] - 0.15) < 1e-7  # reward_scale multiplies r only


def test_double_dqn_takes_the_policy_argmax_among_legal_actions() -> None:
    policy, target = constant_net([0.0, 9.0, 5.0, 1.0]), constant_net([1.0, 50.0, 3.0, -2.0])
    _, info = dqn_loss(policy, target, batch(mask=[True, False, True, True]), gamma=0.5, double=True)
    assert (
        info["target_mean"] == 1.5 + 0.5 * 3.0
    )  # policy picks action 2 (action 1 illegal), target values it


def test_loss_is_mse_and_decreases_with_updates() -> None:
    policy, target = constant_net([0.0, 0.0, 0.0, 0.0]), constant_net([0.0, 0.0, 0.0, 0.0])
    loss, _ = dqn_loss(policy, target, batch(), gamma=0.1, double=False)
    assert torch.isclose(loss, torch.tensor(1.5**2))
    torch.manual_seed(0)
    learner = DQNLearner(QNetwork(SMALL, n_slots=8, n_actions=4), DQNConfig(lr=1e-2, batch_size=16, gamma=0.0))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(16, 8, 4)).astype(np.float32) * 100
    data = Transitions(
        obs,
        rng.integers(0, 4, 16),
        rng.normal(size=16).astype(np.float32) * 5,
        obs,
        np.ones((16, 4), bool),
        np.ones(16, bool),
    )
    first = learner.update(data)["loss"]
    for _ in range(60):
        last = learner.update(data)["loss"]
    assert last < 0.2 * first
    assert learner.version == 61


def test_weights_versions_and_target_sync() -> None:
    torch.manual_seed(0)
    learner = DQNLearner(QNetwork(SMALL, n_slots=8, n_actions=4), DQNConfig(lr=1e-2))
    v0, w0 = learner.get_weights()
    obs = np.random.default_rng(1).normal(size=(8, 8, 4)).astype(np.float32)
    data = Transitions(
        obs, np.zeros(8, np.int64), np.ones(8, np.float32), obs, np.ones((8, 4), bool), np.zeros(8, bool)
    )
    learner.update(data)
    v1, w1 = learner.get_weights()
    assert (v0, v1) == (0, 1) and any(not torch.equal(w0[k], w1[k]) for k in w0)
    assert all(w.device.type == "cpu" for w in w1.values())
    t = learner.target.state_dict()
    assert any(not torch.equal(t[k], w1[k]) for k in t)  # the target lags until synced
    learner.sync_target()
    assert all(torch.equal(learner.target.state_dict()[k], w1[k]) for k in t)
    clone = DQNLearner(QNetwork(SMALL, n_slots=8, n_actions=4), DQNConfig(lr=1e-2))
    clone.load_state_dict(learner.state_dict())
    assert clone.version == 1 and clone.target_syncs == 1


def test_action_choice_never_picks_an_illegal_action() -> None:
    rng = np.random.default_rng(0)
    q = torch.tensor([[5.0, 100.0, 3.0, 2.0]]).repeat(500, 1)
    mask = np.ones((500, 4), bool)
    mask[:, 1] = False
    mask[::2, 2] = False
    greedy = select_actions(lambda rows: q[rows], mask, np.zeros(500), rng)
    assert (greedy == 0).all()
    random = select_actions(lambda rows: q[rows], mask, np.ones(500), rng)
    assert mask[np.arange(500), random].all() and set(random.tolist()) == {0, 2, 3}
    assert MASK_VALUE == -1e9


def test_q_values_are_asked_only_for_the_greedy_rows() -> None:
    """Exploring rows cost no forward; the actions are those of scoring every row (same random draws)."""
    q = torch.randn(300, 4)
    mask = np.random.default_rng(1).random((300, 4)) < 0.7
    mask[:, 0] = True
    epsilon = np.where(np.arange(300) % 2 == 0, 0.5, 0.0)
    asked: list[np.ndarray] = []

    def q_of(rows: np.ndarray) -> torch.Tensor:
        asked.append(rows)
        return q[rows]

    actions = select_actions(q_of, mask, epsilon, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    random = np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1)
    explore = rng.random(300) < epsilon
    greedy = torch.where(torch.from_numpy(mask), q, MASK_VALUE).argmax(dim=1).numpy()
    assert len(asked) == 1 and (asked[0] == np.flatnonzero(~explore)).all() and 50 < explore.sum() < 100
    assert (actions == np.where(explore, random, greedy)).all()
    select_actions(q_of, mask, np.ones(300), rng)
    assert len(asked) == 1  # every row explores: no forward at all


def test_final_transitions_never_evaluate_their_next_state() -> None:
    policy, target = constant_net([0.0, 9.0, 5.0, 1.0]), constant_net([1.0, 50.0, 3.0, -2.0])
    seen: list[int] = []
    for net in (policy, target):
        net.register_forward_hook(lambda _m, inputs, _o: seen.append(len(inputs[0])))
    b = batch(n=5, mask=[True, False, True, True])
    b["done"] = torch.tensor([True, False, True, False, False])
    b["reward"] = torch.arange(5.0)
    for double in (False, True):
        seen.clear()
        _, info = dqn_loss(policy, target, b, gamma=0.5, double=double)
        assert abs(info["target_mean"] - (2.0 + 0.5 * 3.0 * 3 / 5)) < 1e-6
        assert seen[-1] == 3  # the last forward is the next-state one: 3 live rows of 5


def test_epsilon_schedule_matches_the_paper() -> None:
    s = EpsilonSchedule(ExplorationConfig())
    assert s.base_epsilon(0) == 1.0 and np.isclose(s.base_epsilon(10), 0.999**10)
    assert s.base_epsilon(5000) == 0.5  # 0.999^693 < 0.5: the floor
    eps = s.epsilon(np.arange(6))
    assert (eps[1::2] == 0).all() and (eps[::2] > 0).all()  # random actions only in every second episode
