"""``tinn_*`` Prometheus metrics of a distributed run, served by the driver (``prometheus_client``).

Every actor call returns its statistics to the driver (it needs them anyway to keep the replay ratio), so the
driver is the one process that knows every count; it serves them on ``distributed.metrics_port`` (default 9470)
with ``worker``, ``shard`` and ``bin`` labels. Ray's own system metrics stay on each node's Ray metrics port
(listed by the head in ``/tmp/ray/prom_metrics_service_discovery.json``); ``deploy/prometheus.yml`` scrapes both.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

__all__ = ["TinnMetrics"]


class TinnMetrics:
    """The run's metrics in their own registry (several runs in one process do not clash)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.env_steps = Counter("tinn_env_steps", "Episode steps taken (rows of lockstep batches)", ["worker"],
                                 registry=r)
        self.me_evals = Counter("tinn_me_evals", "Matrix-element evaluations (events)", ["worker"], registry=r)
        self.episodes = Counter("tinn_episodes", "Episodes finished", ["worker"], registry=r)
        self.transitions_added = Counter("tinn_replay_added", "Transitions added to replay", ["shard"], registry=r)
        self.transitions_lost = Counter(
            "tinn_replay_lost", "Transitions lost: shard restarted or unreachable", ["shard"], registry=r
        )
        self.replay_size = Gauge("tinn_replay_size", "Transitions held per shard and reward bin", ["shard", "bin"],
                                 registry=r)
        self.updates = Counter("tinn_learner_updates", "Learner gradient updates", registry=r)
        self.samples = Counter("tinn_learner_samples", "Transitions consumed by the learner", registry=r)
        self.restarts = Counter("tinn_actor_restarts", "Actors found restarted after a failure", ["actor"],
                                registry=r)
        self.weight_version = Gauge("tinn_weight_version", "Latest published weight version (learner updates)",
                                    registry=r)
        self.weight_lag = Gauge("tinn_weight_lag", "Published versions a worker's policy was behind", ["worker"],
                                registry=r)
        self.epsilon = Gauge("tinn_epsilon", "Exploration epsilon of the newest episode", registry=r)
        self.mean_gain = Gauge("tinn_mean_episode_gain", "Mean log(m_final/m_start) of recent episodes", registry=r)
        self.loss = Gauge("tinn_learner_loss", "Mean DQN loss of the latest learner call", registry=r)
        self.me_optimality = Gauge("tinn_eval_me_optimality", "Held-out fraction with m_final >= m_true",
                                   registry=r)
        self.replay_ratio = Gauge("tinn_replay_ratio", "Samples consumed per transition added", registry=r)
        self._server = None

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:
        """Start the HTTP endpoint ``http://addr:port/metrics``."""
        self._server, _ = start_http_server(port, addr=addr, registry=self.registry)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
