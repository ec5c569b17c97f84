"""Connecting to Ray: a local instance when no address is given, else an existing cluster (``--address auto``,
``host:port`` or ``RAY_ADDRESS``) — with a clear one-line error instead of Ray's minute-long retry loop when the
address does not answer, and a resource check before any actor is created (Ray would otherwise leave actors
pending forever when the cluster has fewer CPUs than the run asks for).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import ray

from tinn_dist.distributed.config import DistributedConfig
from tinn_dist.errors import TinnError

__all__ = ["ResourcePlan", "connect", "plan_resources"]

CONNECT_TIMEOUT_S = 3.0


def _host_port(address: str) -> tuple[str, int]:
    bare = address.removeprefix("ray://")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise TinnError(f"Ray address {address!r} is not 'auto' or host:port")
    return host.strip("[]"), int(port)


def _check_reachable(address: str) -> None:
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TinnError(
            f"cannot reach a Ray cluster at {address} ({reason}); start one with `ray start --head` "
            "or leave out --address for a local instance"
        ) from None


def connect(address: str | None, num_cpus: int | None = None, num_gpus: int | None = None) -> str:
    """Join the cluster at ``address`` (or ``$RAY_ADDRESS``) or start a local Ray instance; returns a description.

    Safe to call when Ray is already initialised in this process (tests): the existing connection is kept.
    """
    if ray.is_initialized():
        return "existing Ray connection"
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, log_to_driver=True)
        return f"local Ray instance ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"
    if address != "auto":
        _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=True)
    except ConnectionError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TinnError(f"cannot join the Ray cluster at {address!r}: {first}") from None
    return f"Ray cluster at {address} ({int(ray.cluster_resources().get('CPU', 0))} CPUs)"


@dataclass(frozen=True, slots=True)
class ResourcePlan:
    """What each actor asks Ray for."""

    worker_cpus: float
    shard_cpus: float
    learner_cpus: float
    learner_gpus: float

    @property
    def total_cpus(self) -> float:
        return self.worker_cpus + self.shard_cpus + self.learner_cpus


def plan_resources(dist: DistributedConfig, available: dict[str, float]) -> ResourcePlan:
    """Check that the cluster can hold every actor at once; pick the learner's GPU."""
    gpus_there = float(available.get("GPU", 0.0))
    learner_gpus = (1.0 if gpus_there >= 1 else 0.0) if dist.learner_num_gpus is None else dist.learner_num_gpus
    plan = ResourcePlan(
        worker_cpus=dist.rollout_workers * dist.worker_num_cpus,
        shard_cpus=dist.replay_shards * dist.shard_num_cpus,
        learner_cpus=dist.learner_num_cpus,
        learner_gpus=learner_gpus,
    )
    cpus = float(available.get("CPU", 0.0))
    if plan.total_cpus > cpus + 1e-9:
        raise TinnError(
            f"the run needs {plan.total_cpus:g} CPUs ({dist.rollout_workers} rollout workers x "
            f"{dist.worker_num_cpus:g} + {dist.replay_shards} replay shards x {dist.shard_num_cpus:g} + learner "
            f"{dist.learner_num_cpus:g}) but the Ray cluster has {cpus:g}; use fewer --rollout-workers or lower "
            "distributed.worker_num_cpus"
        )
    if learner_gpus > gpus_there + 1e-9:
        raise TinnError(
            f"distributed.learner_num_gpus is {learner_gpus:g} but the Ray cluster has {gpus_there:g} GPUs; "
            "set it to 0 or null"
        )
    return plan
