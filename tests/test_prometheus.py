"""Integration: a real Prometheus server (Debian package ``prometheus``) scrapes the driver's ``tinn_*`` metrics
during a short Ray training run, and the env-steps rate is read back through Prometheus' HTTP API."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import ray
from test_distributed import tiny_config, tiny_dist, tt_events  # noqa: F401 - fixture

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read().decode())


def _query(prom: str, expr: str) -> list:
    out = _get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert out["status"] == "success", out
    return out["data"]["result"]


@pytest.fixture
def prometheus(tmp_path: Path):
    """Start Prometheus scraping one metrics port every second; yields (prometheus URL, metrics port)."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("the `prometheus` binary is missing: apt-get install prometheus (.ci/run does)")
    metrics_port, web_port = _free_port(), _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: tinn\n    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{web_port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{web_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prometheus did not start: {(tmp_path / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url, metrics_port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_prometheus_reads_a_nonzero_env_steps_rate(prometheus, tt_events, tmp_path):  # noqa: F811
    from tinn_dist.distributed.driver import DistributedTrainer

    url, port = prometheus
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)
    try:
        trainer = DistributedTrainer(tiny_config(), tiny_dist(metrics_port=port), tt_events, tmp_path / "run")
        try:
            trainer.train(800, progress=False)
            time.sleep(2.5)  # two more scrapes of the final counts
            up = _query(url, 'up{job="tinn"}')
            steps = _query(url, "sum(rate(tinn_env_steps_total[1m]))")
            workers = {r["metric"]["worker"] for r in _query(url, "tinn_env_steps_total")}
            bins = {(r["metric"]["shard"], r["metric"]["bin"]) for r in _query(url, "tinn_replay_size")}
            updates = _query(url, "tinn_learner_updates_total")
        finally:
            trainer.shutdown()
    finally:
        ray.shutdown()
    assert up and up[0]["value"][1] == "1"
    assert steps and float(steps[0]["value"][1]) > 0
    assert workers == {"0", "1"}
    assert bins == {(s, b) for s in "01" for b in "0123"}
    assert updates and float(updates[0]["value"][1]) > 0
