"""The deployment files: docker-compose.yml (compose schema), deploy/prometheus.yml (promtool), the Grafana
dashboard (every query names a metric the driver serves), deploy/cluster.yaml (Ray's cluster-config schema),
deploy/kuberay-rayjob.yaml (a RayJob whose entrypoint our CLI accepts) — and the compose file's Ray start commands
run as plain processes, with `tinn train --address` joining the cluster they form. No Docker engine runs here."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

from tinn_dist.cli import build_parser
from tinn_dist.distributed.metrics import TinnMetrics
from tinn_dist.processes import process_names

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_passes_the_compose_schema():
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose (Debian package, validates without a Docker engine) is not installed")
    env = {**os.environ, "RAY_AUTH_TOKEN": "test-token"}
    proc = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr


def test_compose_services_scale_and_share_ray_metrics_discovery():
    services = _compose()["services"]
    assert set(services) == {"ray-head", "ray-worker", "prometheus", "grafana"}
    worker = services["ray-worker"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale ray-worker=N` needs both absent
    assert "ray-head:6379" in worker["command"]
    assert "ray-tmp:/tmp/ray" in services["ray-head"]["volumes"]
    assert "ray-tmp:/tmp/ray:ro" in services["prometheus"]["volumes"]  # all of /tmp/ray: session_latest links
    for mount in services["prometheus"]["volumes"] + services["grafana"]["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source


def test_prometheus_config_is_valid_and_scrapes_tinn_and_ray():
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
    proc = subprocess.run([promtool, "check", "config", str(DEPLOY / "prometheus.yml")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = {j["job_name"]: j for j in yaml.safe_load((DEPLOY / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs["tinn"]["static_configs"][0]["targets"] == ["ray-head:9470"]
    assert jobs["ray"]["file_sd_configs"][0]["files"] == ["/tmp/ray/prom_metrics_service_discovery.json"]


def test_grafana_dashboard_queries_only_metrics_the_driver_serves():
    served = {m.name + ("_total" if m.type == "counter" else "") for m in TinnMetrics().registry.collect()}
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "tinn.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {name for e in exprs for name in re.findall(r"\btinn_\w+", e)}
    assert used and used <= served, used - served
    for required in ("tinn_env_steps_total", "tinn_me_evals_total", "tinn_learner_updates_total",
                     "tinn_replay_size", "tinn_weight_lag", "tinn_eval_me_optimality"):
        assert required in used
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/tinn.yml").read_text())["providers"][0]
    grafana = _compose()["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in grafana


def test_cluster_launcher_config_matches_rays_schema():
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = yaml.safe_load((DEPLOY / "cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["file_mounts"]["~/tinn-dist"] == "."
    assert (DEPLOY / "train_entry.py").is_file()


def test_rayjob_entrypoint_is_a_valid_tinn_command():
    job = yaml.safe_load((DEPLOY / "kuberay-rayjob.yaml").read_text())
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    argv = shlex.split(job["spec"]["entrypoint"])
    assert argv[0] == "tinn"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "train" and args.address == "auto" and not args.local
    assert args.config.parent.name == "configs" and args.config.stem in process_names()


# -- the compose start commands as plain processes ----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _interpolate(command: str, values: dict[str, str]) -> str:
    """Compose's ${VAR:-default} (the only form our commands use), with test values where given."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: values.get(m.group(1), m.group(2)), command)


def _stop(proc: subprocess.Popen) -> None:
    """End the process group we started (ray start --block and the Ray daemons it spawned)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.mark.integration
def test_compose_start_commands_form_a_cluster_that_tinn_train_joins(tmp_path):
    from test_distributed import TINY

    from tinn_dist.events.phase_space import PhaseSpace
    from tinn_dist.events.store import EventSet, write_events
    from tinn_dist.physics.matrix_element import default_param_card
    from tinn_dist.processes import load_process

    services = _compose()["services"]
    gcs, dash, head_metrics, worker_metrics = (_free_port() for _ in range(4))
    values = {"RAY_DASHBOARD": "true" if importlib.util.find_spec("aiohttp") else "false"}
    ports = {"6379": str(gcs), "8265": str(dash)}

    def command(service: str, metrics_port: int) -> list[str]:
        text = _interpolate(services[service]["command"], values).replace("ray-head", "127.0.0.1")
        text = re.sub(r"\b(6379|8265)\b", lambda m: ports[m.group(1)], text).replace("8080", str(metrics_port))
        argv = shlex.split(text)
        assert argv[:2] == ["ray", "start"]
        return [str(Path(sys.executable).parent / "ray"), *argv[1:]]

    # A private temp dir keeps this cluster out of /tmp/ray, where `ray.init()` elsewhere would find it.
    temp_dir = tempfile.mkdtemp(prefix="tinn-ray-", dir="/tmp")
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}  # as x-ray-auth
    env.pop("RAY_ADDRESS", None)
    logs = [(tmp_path / f"{n}.log").open("w") for n in ("head", "worker")]
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen(command("ray-head", head_metrics) + [f"--temp-dir={temp_dir}"], env=env,
                                      stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 120
        while True:  # the head is up when its GCS port answers
            try:
                socket.create_connection(("127.0.0.1", gcs), timeout=1).close()
                break
            except OSError:
                assert procs[0].poll() is None and time.monotonic() < deadline, (tmp_path / "head.log").read_text()
                time.sleep(0.5)
        procs.append(subprocess.Popen(command("ray-worker", worker_metrics), env=env, stdout=logs[1],
                                      stderr=subprocess.STDOUT, start_new_session=True))
        while "Ray runtime started" not in (tmp_path / "worker.log").read_text():  # the worker node joined
            assert procs[1].poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)

        process = load_process("tt")
        ps = PhaseSpace.for_process(process, default_param_card())
        rng = np.random.default_rng(3)
        batch = ps.generate(rng.random((120, ps.dim)), np.full(120, 700.0))
        write_events(tmp_path / "tt.parquet", EventSet.from_true_order(
            process, batch.momenta, np.ones(120), np.array(["generated"] * 120), np.arange(120)))
        config = {**TINY, "distributed": {"metrics_port": 0, "eval_events": 16}}
        (tmp_path / "tt.yaml").write_text(yaml.safe_dump(config))
        train = subprocess.run(
            [sys.executable, "-m", "tinn_dist.cli", "train", "--config", str(tmp_path / "tt.yaml"), "--events",
             str(tmp_path / "tt.parquet"), "--run-dir", str(tmp_path / "run"), "--max-episodes", "64",
             "--address", f"127.0.0.1:{gcs}", "--rollout-workers", "2", "--replay-shards", "1"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert train.returncode == 0, train.stderr[-3000:]
        assert f"Ray cluster at 127.0.0.1:{gcs} (3 CPUs)" in train.stderr  # head 1 + worker 2 CPUs
        assert (tmp_path / "run" / "checkpoint.pt").is_file()
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for f in logs:
            f.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
