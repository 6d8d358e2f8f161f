"""The production shape (docs/deploy.md): the Kubernetes job a build run gets from deploy/k8s/dagster.yaml,
rendered offline with dagster-k8s's public API (no cluster needed)."""
from __future__ import annotations

import inspect

import yaml
from dagster_k8s import DagsterK8sJobConfig, construct_dagster_k8s_job

from .conftest import REPO

COMMAND = ["dagster", "job", "execute", "-m", "pipelines.definitions", "-j", "build_warehouse"]


def job_spec() -> dict:
    config = yaml.safe_load((REPO / "deploy/k8s/dagster.yaml").read_text())["run_launcher"]["config"]
    accepted = inspect.signature(DagsterK8sJobConfig.__new__).parameters
    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(**{k: v for k, v in config.items() if k in accepted}),
        args=COMMAND, job_name="dagster-run-build", labels={"app.kubernetes.io/part-of": "foil"},
    )
    return job.to_dict()


def test_the_build_run_job_spec_carries_image_settings_and_command():
    spec = job_spec()
    assert spec["kind"] == "Job" and spec["metadata"]["name"] == "dagster-run-build"
    (container,) = spec["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/foil:1"
    assert container["args"] == COMMAND
    env = {e["name"]: e["value"] for e in container["env"] if e.get("value") is not None}
    assert env["FOIL_RAW_DIR"].startswith("s3://") and env["FOIL_SEGMENTS_DIR"].startswith("s3://")
    assert env["FOIL_DASK_SCHEDULER"].startswith("tcp://")
    assert env["FOIL_WAREHOUSE"] == "/warehouse/analytics.duckdb" and env["DAGSTER_HOME"] == "/opt/dagster/dagster_home"
    assert [e["secret_ref"]["name"] for e in container["env_from"] if e.get("secret_ref")] == ["foil-s3"]
    assert {m["name"]: m["mount_path"] for m in container["volume_mounts"]}["warehouse"] == "/warehouse"
    volumes = {v["name"]: v for v in spec["spec"]["template"]["spec"]["volumes"]}
    assert volumes["warehouse"]["persistent_volume_claim"]["claim_name"] == "foil-warehouse"


def test_the_run_launcher_names_a_class_of_the_pinned_dagster_k8s():
    import dagster_k8s

    launcher = yaml.safe_load((REPO / "deploy/k8s/dagster.yaml").read_text())["run_launcher"]
    assert launcher["module"] == "dagster_k8s" and hasattr(dagster_k8s, launcher["class"])
    # every key the file sets is a field of the launcher's config schema
    assert set(launcher["config"]) <= set(dagster_k8s.K8sRunLauncher.config_type())
