"""The Ray runner: wires rollout workers, replay shards and the learner, and runs the loop of the local trainer
(:mod:`tinn_dist.rl.trainer`) with its steps spread over actors.

  1. the driver picks each lockstep batch's events and episode numbers (same RNG use as the local trainer) and
     hands batches to idle rollout workers, with the newest published weight version;
  2. workers play them and push the transitions, split evenly per reward bin, to the replay shards;
  3. each transition added earns the learner ``replay_ratio`` samples (once replay holds ``learning_starts``),
     exactly the local trainer's credit rule; the learner is called for the updates it is owed, and rollouts
     pause while it owes more than ``max_owed_updates`` — so the sample/update ratio stays at its configured
     value however fast the workers are; at the end the owed updates are drained;
  4. every ``target_sync_episodes`` episodes the target net is synced; every learner call publishes weights.
Fault tolerance: workers and shards are Ray actors with ``max_restarts``; a failed call is logged, counted
(``tinn_actor_restarts_total``, ``tinn_replay_lost_total``) and its work re-issued; an actor Ray gave up on is
re-created by the driver. Ctrl-C (first) finishes in-flight calls and writes the checkpoint; ``resume()``
continues from ``RUN/checkpoint.pt`` with the same counters (replay refills, as in the local trainer).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import ray
import yaml
from ray.exceptions import ActorDiedError, RayActorError
from tqdm import tqdm

from tinn_dist.distributed.cluster import ResourcePlan, plan_resources
from tinn_dist.distributed.config import DistributedConfig
from tinn_dist.distributed.learner import Learner
from tinn_dist.distributed.metrics import TinnMetrics
from tinn_dist.distributed.replay_shard import ReplayShard
from tinn_dist.distributed.rollout_worker import RolloutWorker
from tinn_dist.distributed.variables import WeightVersion
from tinn_dist.errors import TinnError
from tinn_dist.rl.builder import holdout_split
from tinn_dist.rl.checkpoint import checkpoint_path, load_resumable_checkpoint, save_checkpoint
from tinn_dist.rl.config import TrainConfig
from tinn_dist.rl.metrics_log import append_metrics_row, truncate_metrics
from tinn_dist.rl.progress import CtrlC, RateMeter
from tinn_dist.rl.replay import N_BINS
from tinn_dist.rl.schedule import EpsilonSchedule
from tinn_dist.rl.trainer import Counters

__all__ = ["DistributedTrainer"]

log = logging.getLogger("tinn.distributed")
SHARD_POLL_S = 1.0


class DistributedTrainer:
    """Creates the actors on the connected Ray cluster and trains on the training part of ``events``."""

    def __init__(self, cfg: TrainConfig, dist: DistributedConfig, events: Any, run_dir: str | Path) -> None:
        if not ray.is_initialized():
            raise TinnError("Ray is not initialised; connect with tinn_dist.distributed.cluster.connect first")
        self.cfg, self.dist = cfg, dist
        self.run_dir = Path(run_dir)
        self.plan: ResourcePlan = plan_resources(dist, ray.cluster_resources())
        train_idx, holdout_idx = holdout_split(len(events), cfg.events.holdout_fraction)
        momenta = np.asarray(events.momenta)
        self.n_train = len(train_idx)
        evaluation = holdout_idx[: dist.eval_events]
        self._events_ref = ray.put({
            "train_momenta": momenta[train_idx],
            "holdout_momenta": momenta[evaluation],
            "holdout_true_perm": np.asarray(events.true_perm)[evaluation],
        })
        per_shard = math.ceil(cfg.replay.capacity_per_bin / dist.replay_shards)
        self._shard_cfg = cfg.replace(replay={"capacity_per_bin": per_shard})
        self.schedule = EpsilonSchedule(cfg.exploration)
        self.rng = np.random.default_rng(cfg.seed)
        self.counters = Counters()
        self.metrics = TinnMetrics()
        self.last_eval: dict[str, float] | None = None
        self._replay_added = 0  # transitions stored in this session (replay is not checkpointed)
        self._interval: dict[str, list[float]] = {"gain": [], "greedy_gain": [], "loss": [], "q_mean": []}

        # Create every actor first, then wait: their processes start in parallel.
        self.shards = [self._make_shard(i) for i in range(dist.replay_shards)]
        self.workers = [self._make_worker(i) for i in range(dist.rollout_workers)]
        device = "cuda" if self.plan.learner_gpus > 0 else "cpu"
        self.learner = ray.remote(Learner).options(
            num_cpus=dist.learner_num_cpus, num_gpus=self.plan.learner_gpus, max_restarts=0
        ).remote(self._shard_cfg, self.shards, device, dist.prefetch_batches, dist.learner_num_cpus)
        try:
            ready = [w.ready.remote() for w in self.workers]
            self._shard_seen = ray.get([s.stats.remote() for s in self.shards])
            for i, ref in enumerate(ready):
                self._check_ready(i, ref)
            self.learner_device = ray.get(self.learner.device_name.remote())
            self.version: WeightVersion = ray.get(self.learner.publish.remote())
        except BaseException:
            self.shutdown()
            raise

    # -- actors ------------------------------------------------------------------------------------------------
    def _make_shard(self, i: int) -> Any:
        return ray.remote(ReplayShard).options(
            num_cpus=self.dist.shard_num_cpus, max_restarts=self.dist.max_restarts, max_task_retries=0
        ).remote(self._shard_cfg, i)

    def _make_worker(self, i: int) -> Any:
        return ray.remote(RolloutWorker).options(
            num_cpus=self.dist.worker_num_cpus, max_restarts=self.dist.max_restarts, max_task_retries=0
        ).remote(self.cfg, self._events_ref, i, self.shards, self.dist.max_weight_lag, self.dist.worker_num_cpus)

    @staticmethod
    def _check_ready(i: int, ready: ray.ObjectRef) -> None:
        try:
            error = ray.get(ready)
        except RayActorError as exc:
            raise TinnError(f"rollout worker {i} could not start: {str(exc).strip().splitlines()[-1]}") from None
        if error:
            raise TinnError(error)

    def shutdown(self) -> None:
        """Stop the actors and the metrics endpoint (the Ray connection stays)."""
        self.metrics.close()
        for actor in [*self.workers, *self.shards, self.learner]:
            ray.kill(actor, no_restart=True)

    # -- resume / checkpoint -------------------------------------------------------------------------------------
    def resume(self) -> None:
        """Continue from ``RUN/checkpoint.pt`` (written by this runner): nets, optimizer, counters, RNG, ε."""
        payload = load_resumable_checkpoint(self.run_dir, self.cfg)
        self.version = ray.get(self.learner.load.remote(payload["learner"]))
        self.counters = Counters(**payload["counters"])
        self.rng.bit_generator.state = payload["rng"]["events"]
        truncate_metrics(self.run_dir, self.counters.episodes)

    def save(self) -> Path:
        """Checkpoint; the caller makes sure no learner call is in flight (counters match the learner state)."""
        payload = {
            "config": self.cfg.to_dict(),
            "learner": ray.get(self.learner.state.remote()),
            "counters": dataclasses.asdict(self.counters),
            "epsilon": float(self.schedule.base_epsilon(self.counters.episodes)),
            "rng": {"events": self.rng.bit_generator.state},
            "runner": "ray",
            "distributed": dataclasses.asdict(self.dist),
        }
        return save_checkpoint(self.run_dir, payload)


    # -- the loop ------------------------------------------------------------------------------------------------
    def train(self, max_episodes: int, max_minutes: float | None = None, progress: bool = True) -> Counters:
        """Train until ``max_episodes`` episodes in total (resume included) or ``max_minutes`` of this run."""
        c, cfg, dist = self.counters, self.cfg, self.dist
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.yaml").write_text(
            yaml.safe_dump({**cfg.to_dict(), "distributed": dataclasses.asdict(dist)}, sort_keys=False))
        if dist.metrics_port:
            try:
                self.metrics.serve(dist.metrics_port)
            except OSError as exc:
                raise TinnError(f"cannot serve metrics on port {dist.metrics_port} ({exc.strerror}); set "
                                "distributed.metrics_port to a free port or 0") from None
        start = time.perf_counter()
        wall0 = c.wall_s
        b = cfg.rollout.episodes_per_batch
        inflight: dict[ray.ObjectRef, tuple[str, int, int]] = {}  # ref -> (kind, actor index, episodes)
        state = ["idle"] * len(self.workers)  # idle | busy | recovering (after a failure, until it answers)
        learner_calls: deque[ray.ObjectRef] = deque()
        shard_polls: dict[ray.ObjectRef, int] = {}
        last_poll = 0.0
        last_log, last_ckpt, last_eval = c.episodes, c.episodes, c.episodes
        want_ckpt = False
        meter = RateMeter(c)
        bar = tqdm(total=max_episodes, initial=min(c.episodes, max_episodes), unit="ep", disable=not progress,
                   dynamic_ncols=True)
        with CtrlC() as ctrl_c:
            try:
                while True:
                    timed_out = max_minutes is not None and time.perf_counter() - start >= 60.0 * max_minutes
                    stopping = ctrl_c.requested or timed_out
                    pending_eps = sum(e for kind, _, e in inflight.values() if kind == "collect")
                    owed = c.sample_credit / cfg.dqn.batch_size
                    # 1. rollouts
                    for i, w in enumerate(self.workers):
                        remaining = max_episodes - c.episodes - pending_eps
                        if state[i] != "idle" or stopping or remaining <= 0 or owed > dist.max_owed_updates:
                            continue
                        jobs = []
                        for _ in range(min(dist.batches_per_call, math.ceil(remaining / b))):
                            first = c.episodes + pending_eps
                            jobs.append((first, self.rng.integers(self.n_train, size=b)))
                            pending_eps += b
                        inflight[w.collect.remote(jobs, self.version)] = ("collect", i, len(jobs) * b)
                        state[i] = "busy"
                    # 2. learner: the updates it is owed (none while a checkpoint waits for it to be idle)
                    while len(learner_calls) < 2 and not want_ckpt and c.sample_credit >= cfg.dqn.batch_size:
                        n = min(int(c.sample_credit // cfg.dqn.batch_size), dist.max_updates_per_call)
                        c.sample_credit -= n * cfg.dqn.batch_size
                        ref = self.learner.train.remote(n)
                        learner_calls.append(ref)
                        inflight[ref] = ("train", 0, 0)
                    # 3. shard health, every SHARD_POLL_S
                    if not shard_polls and time.monotonic() - last_poll >= SHARD_POLL_S:
                        last_poll = time.monotonic()
                        for s, shard in enumerate(self.shards):
                            ref = shard.stats.remote()
                            shard_polls[ref] = s
                            inflight[ref] = ("stats", s, 0)
                    if want_ckpt and not learner_calls:
                        self.save()
                        want_ckpt = False
                    work_left = any(kind != "stats" for kind, _, _ in inflight.values())
                    budget_spent = c.episodes >= max_episodes and c.sample_credit < cfg.dqn.batch_size
                    if not work_left and (stopping or budget_spent):
                        break
                    if not inflight:
                        time.sleep(0.05)
                        continue
                    ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                    for ref in ready:
                        kind, i, _ = inflight.pop(ref)
                        if kind in ("collect", "recover"):
                            ok = self._on_collect(ref, i) if kind == "collect" else self._on_recover(ref, i)
                            state[i] = "idle" if ok else "recovering"
                            if not ok:  # probe until Ray has restarted it (or the driver re-created it)
                                inflight[self.workers[i].ready.remote()] = ("recover", i, 0)
                        elif kind == "train":
                            learner_calls.remove(ref)
                            self._on_train(ray.get(ref))
                        else:
                            shard_polls.pop(ref)
                            self._on_shard_stats(ref, i)
                    if c.episodes - last_eval >= dist.eval_every > 0:
                        self.evaluate()
                        last_eval = c.episodes
                    c.wall_s = wall0 + time.perf_counter() - start
                    rates, epsilon = self._progress(bar, meter, max_episodes)
                    if c.episodes - last_log >= cfg.train.log_every:
                        self._log_row(rates, epsilon)
                        last_log = c.episodes
                        meter.reset()
                    if c.episodes - last_ckpt >= cfg.train.checkpoint_every:
                        want_ckpt = True
                        last_ckpt = c.episodes
                # final replay sizes (waits for a shard still restarting)
                for s, shard in enumerate(self.shards):
                    self._on_shard_stats(shard.stats.remote(), s)
            finally:
                bar.close()
                c.wall_s = wall0 + time.perf_counter() - start
        self.save()
        if ctrl_c.requested:
            raise KeyboardInterrupt
        self.evaluate()
        return c

    def _progress(self, bar: tqdm, meter: RateMeter, max_episodes: int) -> tuple[dict[str, float], float]:
        """The meter's rates on the bar; ε to the metrics."""
        c = self.counters
        rates = meter.rates()
        epsilon = float(self.schedule.base_epsilon(c.episodes))
        self.metrics.epsilon.set(epsilon)
        gains = self._interval["gain"]
        bar.n = min(c.episodes, max_episodes)
        bar.set_postfix(ep_s=f"{rates['episodes_per_s']:.0f}", steps_s=f"{rates['env_steps_per_s']:.0f}",
                        me_s=f"{rates['me_evals_per_s']:.0f}", upd_s=f"{rates['updates_per_s']:.0f}",
                        gain=f"{np.mean(gains) if gains else float('nan'):.2f}", eps=f"{epsilon:.3f}",
                        refresh=False)
        bar.refresh()
        return rates, epsilon

    # -- results -------------------------------------------------------------------------------------------------
    def _on_collect(self, ref: ray.ObjectRef, i: int) -> bool:
        """Account a finished rollout call; False when the worker failed (its batch is simply re-issued)."""
        c, cfg, m = self.counters, self.cfg, self.metrics
        try:
            r = ray.get(ref)
        except RayActorError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("rollout worker %d failed (%s); its batch is re-issued after the restart", i, reason)
            self.metrics.restarts.labels(actor=f"worker-{i}").inc()
            return False
        label = str(i)
        c.episodes += r["episodes"]
        c.env_steps += r["env_steps"]
        c.me_evals += r["me_evals"]
        m.episodes.labels(worker=label).inc(r["episodes"])
        m.env_steps.labels(worker=label).inc(r["env_steps"])
        m.me_evals.labels(worker=label).inc(r["me_evals"])
        m.weight_lag.labels(worker=label).set(r["weight_lag"])  # versions behind the newest it was offered
        for s, (added, lost) in enumerate(zip(r["added"], r["lost"])):
            if added:
                m.transitions_added.labels(shard=str(s)).inc(added)
            if lost:
                m.transitions_lost.labels(shard=str(s)).inc(lost)
                log.warning("replay shard %d was unreachable: %d transitions from worker %d lost", s, lost, i)
        added = sum(r["added"])
        self._replay_added += added
        if self._replay_added >= cfg.dqn.learning_starts:
            c.sample_credit += cfg.dqn.replay_ratio * added
        self._interval["gain"].append(r["gain_sum"] / max(r["episodes"], 1))
        if r["greedy_episodes"]:
            self._interval["greedy_gain"].append(r["greedy_gain_sum"] / r["greedy_episodes"])
        m.mean_gain.set(r["gain_sum"] / max(r["episodes"], 1))
        if c.episodes - c.target_synced_at >= cfg.dqn.target_sync_episodes:
            self.learner.sync_target.remote()  # ordered after the updates already queued on the learner
            c.target_synced_at = c.episodes
        return True

    def _on_recover(self, ref: ray.ObjectRef, i: int) -> bool:
        """True when a restarted worker answers its probe; when Ray gave up on it, the driver re-creates it."""
        try:
            error = ray.get(ref)
        except ActorDiedError:
            log.warning("rollout worker %d is gone for good; creating a new one", i)
            self.workers[i] = self._make_worker(i)
            return False
        except RayActorError:
            time.sleep(0.1)  # still restarting
            return False
        if error:
            raise TinnError(error)
        log.warning("rollout worker %d is back", i)
        return True

    def _on_train(self, r: dict) -> None:
        c, m = self.counters, self.metrics
        c.updates += r["updates"]
        c.samples += r["samples"]
        self.version = r["version"]
        m.updates.inc(r["updates"])
        m.samples.inc(r["samples"])
        m.weight_version.set(self.version.updates)
        m.loss.set(r["loss"])
        m.replay_ratio.set(c.samples / max(self._replay_added, 1))
        self._interval["loss"].append(r["loss"])
        self._interval["q_mean"].append(r["q_mean"])

    def _on_shard_stats(self, ref: ray.ObjectRef, s: int) -> None:
        try:
            st = ray.get(ref)
        except ActorDiedError:
            log.warning("replay shard %d is gone for good; creating a new one", s)
            self.shards[s] = self._make_shard(s)
            self._shard_seen[s] = {**self._shard_seen[s], "incarnation": None}
            for w in self.workers:
                w.set_shards.remote(self.shards)
            self.learner.set_shards.remote(self.shards)
            return
        except RayActorError:
            return  # restarting; the next poll sees the new incarnation
        seen = self._shard_seen[s]
        if st["incarnation"] != seen["incarnation"]:
            lost = seen["size"]
            log.warning("replay shard %d restarted: its %d transitions are lost; workers refill it", s, lost)
            self.metrics.transitions_lost.labels(shard=str(s)).inc(lost)
            self.metrics.restarts.labels(actor=f"shard-{s}").inc()
        self._shard_seen[s] = st
        for k in range(N_BINS):
            self.metrics.replay_size.labels(shard=str(s), bin=str(k)).set(st["sizes"][k])

    def evaluate(self) -> dict[str, float]:
        """Greedy ME-optimality on the first ``eval_events`` held-out events (with the newest weights)."""
        for w in self.workers:
            try:
                self.last_eval = ray.get(w.evaluate.remote(self.version))
                break
            except RayActorError:
                continue
        else:
            raise TinnError("no rollout worker is alive to evaluate the policy")
        self.metrics.me_optimality.set(self.last_eval["me_optimality"])
        return self.last_eval

    def _log_row(self, rates: dict[str, float], epsilon: float) -> None:
        c = self.counters
        mean = {k: float(np.mean(v)) if v else float("nan") for k, v in self._interval.items()}
        row = {
            "episodes": c.episodes, "env_steps": c.env_steps, "me_evals": c.me_evals, "updates": c.updates,
            "wall_s": round(c.wall_s, 3), **{k: round(v, 3) for k, v in rates.items()},
            "mean_gain": mean["gain"], "greedy_gain": mean["greedy_gain"], "epsilon": epsilon,
            "loss": mean["loss"], "q_mean": mean["q_mean"],
            "replay_size": sum(s["size"] for s in self._shard_seen),
        }
        append_metrics_row(self.run_dir, row)
        for v in self._interval.values():
            v.clear()


def run_distributed(
    cfg: TrainConfig,
    dist: DistributedConfig,
    events: Path,
    run_dir: Path,
    max_episodes: int | None = None,
    max_minutes: float | None = None,
    resume: bool = False,
    progress: bool = True,
    address: str | None = None,
    rollout_workers: int | None = None,
    replay_shards: int | None = None,
) -> Path:
    """``tinn train`` without ``--local``: connect to Ray, train, checkpoint; returns the run directory."""
    from tinn_dist.distributed.cluster import connect
    from tinn_dist.distributed.config import distributed_from_dict
    from tinn_dist.events.store import read_events
    from tinn_dist.rl.builder import check_events

    overrides = {k: v for k, v in (("rollout_workers", rollout_workers), ("replay_shards", replay_shards))
                 if v is not None}
    dist = distributed_from_dict({**dataclasses.asdict(dist), **overrides}, "command line")
    if not resume and checkpoint_path(run_dir).is_file() and run_dir.is_dir():
        raise TinnError(f"{run_dir}: already holds a checkpoint; pass --resume or choose another --run-dir")
    event_set = read_events(events)
    check_events(cfg, event_set, str(events))
    logging.basicConfig(level=logging.INFO, format="tinn: %(message)s")
    started_here = not ray.is_initialized()
    where = connect(address)
    log.info("%s; %d rollout workers, %d replay shards", where, dist.rollout_workers, dist.replay_shards)
    trainer = None
    try:
        trainer = DistributedTrainer(cfg, dist, event_set, run_dir)
        log.info("learner on %s; metrics on port %s", trainer.learner_device, dist.metrics_port or "(off)")
        if resume:
            trainer.resume()
        budget = max_episodes if max_episodes is not None else cfg.train.max_episodes
        c = trainer.train(budget, max_minutes=max_minutes, progress=progress)
        ev = trainer.last_eval or {}
        log.info("trained %s: %d episodes, %d env steps, %d updates in %.1f min; held-out ME-optimality %.3f; "
                 "checkpoint %s", cfg.process, c.episodes, c.env_steps, c.updates, c.wall_s / 60,
                 ev.get("me_optimality", float("nan")), checkpoint_path(run_dir))
    finally:
        if trainer is not None:
            trainer.shutdown()
        if started_here:
            ray.shutdown()
    return run_dir
