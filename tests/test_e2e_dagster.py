"""End to end: the real `dagster dev` (webserver + daemon) processes releases by itself.

One module-scoped `dagster dev -w workspace.yaml` on a free port with a temporary DAGSTER_HOME, raw
folder and warehouse, seeded with one settled sample release. The tests then only copy files and talk
to the webserver's GraphQL API and UI, the way a user would:

1. a second release dropped into the raw folder is picked up by `release_sensor`; both releases get a
   `process_release` run (ingest -> dbt -> gates -> publish) that succeeds, and the published DuckDB
   file holds both;
2. the asset graph served by the webserver has the documented lineage and the GX checks;
3. headless Chromium renders the global asset lineage page: its DOM names the pipeline's assets, and a
   screenshot is kept in test-artifacts/e2e/.

Logs: test-artifacts/e2e/dagster-dev.log (the services) and test-artifacts/e2e/progress.log (this test).
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, run_foil

pytestmark = pytest.mark.e2e

SAMPLES = REPO / "raw"
FIRST = "nypd-clearview-2021-06-supplemental"   # present when the services start
SECOND = "nypd-clearview-2021-04-initial"       # dropped in by the test
ARTIFACTS = REPO / "test-artifacts" / "e2e"
DAGSTER = Path(sys.executable).parent / "dagster"
JOB = "process_release"
LOCATION = "pipelines.definitions"   # the code location workspace.yaml loads

STARTUP_TIMEOUT = 180     # until /server_info answers
RUNS_TIMEOUT = 360        # until both runs succeeded
POLL_SECONDS = 4
STOP_TIMEOUT = 45         # SIGTERM -> SIGKILL
SCREENSHOT_TIMEOUT = 90


def say(message: str) -> None:
    """Progress, to stderr (shown by pytest on failure or with -s) and to test-artifacts/e2e/progress.log."""
    line = f"[e2e {time.strftime('%H:%M:%S')}] {message}"
    print(line, file=sys.stderr, flush=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "progress.log", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def release_id(folder: Path) -> str:
    return yaml.safe_load((folder / "release.yaml").read_text())["release_id"]


def age(folder: Path, seconds: int = 3600) -> None:
    """Old mtimes, so the sensor's quiet period is already over."""
    old = time.time() - seconds
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (old, old))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_signals() -> None:
    # A shell or CI runner may start pytest with SIGINT/SIGTERM ignored; ignored dispositions survive
    # exec, and `dagster dev` maps SIGTERM to its SIGINT handler, so it could never be stopped cleanly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Services:
    url: str
    proc: subprocess.Popen
    log: Path
    raw: Path
    warehouse: Path
    home: Path

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(no dagster dev log)"
        return f"--- last {lines} lines of {self.log} ---\n" + "\n".join(text[-lines:])

    def gql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.load(resp)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}\n{self.tail(30)}")
        return payload["data"]


def _stop(proc: subprocess.Popen) -> None:
    """Stop only the process group started by the fixture: SIGTERM, wait, then SIGKILL what is left."""
    pgid = proc.pid  # start_new_session=True: the child leads its own group
    if proc.poll() is None:
        say(f"stopping dagster dev (process group {pgid}) with SIGTERM")
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            say(f"dagster dev did not stop within {STOP_TIMEOUT} s, sending SIGKILL to group {pgid}")
    try:  # stragglers of the same group (code servers, run workers), if any
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message stack }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _wait_for_code_location(svc: Services, deadline: float) -> None:
    """The webserver answers before the code location has loaded; fail fast (not after the run timeout)
    when `pipelines.definitions` cannot be loaded, e.g. because `dbt parse` failed."""
    say("waiting for the code location pipelines.definitions to load")
    while True:
        data = svc.gql(WORKSPACE_QUERY)["workspaceOrError"]
        assert data["__typename"] == "Workspace", data
        entries = data["locationEntries"]
        for entry in entries:
            loaded = entry.get("locationOrLoadError") or {}
            if loaded.get("__typename") == "PythonError":
                pytest.fail(f"code location {entry['name']} failed to load:\n{loaded['message']}\n"
                            f"{''.join(loaded.get('stack') or [])[-2000:]}\n{svc.tail()}")
        if entries and all(e["loadStatus"] == "LOADED" and (e.get("locationOrLoadError") or {}).get("__typename")
                           == "RepositoryLocation" for e in entries):
            say(f"code locations loaded: {[e['name'] for e in entries]}")
            return
        if time.monotonic() > deadline:
            pytest.fail(f"code location not loaded within {STARTUP_TIMEOUT} s: {entries}\n{svc.tail()}")
        time.sleep(2)


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[Services]:
    if not DAGSTER.exists():
        pytest.skip(f"{DAGSTER} not found (run `make venv`)")
    root = tmp_path_factory.mktemp("e2e")
    home, raw, warehouse = root / "dagster_home", root / "raw", root / "warehouse" / "analytics.duckdb"
    home.mkdir()
    raw.mkdir()
    warehouse.parent.mkdir()
    shutil.copyfile(REPO / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    # Mark the "Join the Dagster community" dialog as seen, or it covers the UI in the screenshot.
    (home / ".nux").mkdir()
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    shutil.copytree(SAMPLES / FIRST, raw / FIRST)
    age(raw / FIRST)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "progress.log").unlink(missing_ok=True)
    log = ARTIFACTS / "dagster-dev.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FOIL_STATE_DIR", "DAGSTER_HOME")}
    env.update(FOIL_RAW_DIR=str(raw), FOIL_WAREHOUSE=str(warehouse), DAGSTER_HOME=str(home),
               FOIL_SENSOR_QUIET_SECONDS="2", PYTHONUNBUFFERED="1")
    cmd = [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    say(f"starting {' '.join(cmd)} (DAGSTER_HOME={home}, FOIL_RAW_DIR={raw}, FOIL_WAREHOUSE={warehouse}); log: {log}")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=_default_signals)
    svc = Services(url=f"http://127.0.0.1:{port}", proc=proc, log=log, raw=raw, warehouse=warehouse, home=home)
    try:
        started, deadline = time.monotonic(), time.monotonic() + STARTUP_TIMEOUT
        say(f"waiting up to {STARTUP_TIMEOUT} s for {svc.url}/server_info")
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited with code {proc.returncode} during start-up\n{svc.tail()}")
            try:
                with urllib.request.urlopen(f"{svc.url}/server_info", timeout=5) as resp:
                    say(f"webserver up after {time.monotonic() - started:.0f} s: {resp.read().decode()[:200]}")
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster dev did not answer /server_info within {STARTUP_TIMEOUT} s\n{svc.tail()}")
            time.sleep(2)
        _wait_for_code_location(svc, deadline)
        yield svc
    finally:
        _stop(proc)


# --- 1. the sensor processes a dropped-in release -------------------------------------------------

RUNS_QUERY = """
query Runs($job: String!) {
  runsOrError(filter: {pipelineName: $job}) {
    __typename
    ... on Runs { results { runId status tags { key value } } }
    ... on PythonError { message }
  }
}
"""

RUN_ERRORS_QUERY = """
query RunErrors($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level stepKey }
        ... on ErrorEvent { error { message stack } }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _runs_by_release(svc: Services) -> dict[str, list[dict]]:
    data = svc.gql(RUNS_QUERY, {"job": JOB})["runsOrError"]
    assert data["__typename"] == "Runs", data
    out: dict[str, list[dict]] = {}
    for run in data["results"]:
        tags = {t["key"]: t["value"] for t in run["tags"]}
        run["tags"] = tags
        out.setdefault(tags.get("dagster/partition", "?"), []).append(run)
    return out


def _run_errors(svc: Services, run_id: str) -> str:
    try:
        data = svc.gql(RUN_ERRORS_QUERY, {"runId": run_id}, timeout=60)["logsForRun"]
    except Exception as err:  # the excerpt is a courtesy; never hide the real failure
        return f"(could not fetch the run's events: {err})"
    lines = []
    for event in data.get("events", []):
        error = event.get("error")
        if error or event.get("level") in ("ERROR", "CRITICAL"):
            lines.append(f"{event['__typename']} [{event.get('stepKey')}]: {event.get('message', '')}")
            if error:
                lines.append(f"  {error['message']}\n  {''.join(error.get('stack') or [])[-1500:]}")
    return "\n".join(lines[-20:]) or "(no error events)"


def test_sensor_processes_a_new_release_end_to_end(services: Services):
    import duckdb

    first, second = release_id(SAMPLES / FIRST), release_id(SAMPLES / SECOND)
    # Drop in the second release the way a careful copy would: under a hidden name (ignored by the
    # sensor), then one rename into place.
    incoming = services.raw / f".{SECOND}.partial"
    shutil.copytree(SAMPLES / SECOND, incoming)
    age(incoming)
    incoming.rename(services.raw / SECOND)
    say(f"copied {SECOND} into {services.raw}; waiting up to {RUNS_TIMEOUT} s for {JOB} runs of {first} and {second}")

    wanted = (first, second)
    deadline, last_state = time.monotonic() + RUNS_TIMEOUT, None
    while True:
        runs = _runs_by_release(services)
        state = {rid: [r["status"] for r in runs.get(rid, [])] for rid in wanted}
        if state != last_state:
            say(f"{JOB} runs by release: {state}")
            last_state = state
        for rid in wanted:
            for run in runs.get(rid, []):
                if run["status"] in ("FAILURE", "CANCELED"):
                    pytest.fail(f"{JOB} run {run['runId']} for {rid} ended {run['status']}:\n"
                                f"{_run_errors(services, run['runId'])}\n{services.tail()}")
        if all(any(r["status"] == "SUCCESS" for r in runs.get(rid, [])) for rid in wanted):
            break
        if services.proc.poll() is not None:
            pytest.fail(f"dagster dev exited with code {services.proc.returncode}\n{services.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"after {RUNS_TIMEOUT} s the {JOB} runs are {state}, expected SUCCESS for both\n"
                        f"{services.tail()}")
        time.sleep(POLL_SECONDS)

    # The sensor, not the test, launched each release exactly once (run_key = release id).
    for rid in wanted:
        assert len(runs[rid]) == 1, (rid, runs[rid])
        tags = runs[rid][0]["tags"]
        assert tags.get("dagster/sensor_name") == "release_sensor", tags
        assert tags.get("dagster/run_key") == rid, tags

    assert services.warehouse.is_file(), f"nothing published at {services.warehouse}\n{services.tail()}"
    with duckdb.connect(str(services.warehouse), read_only=True) as con:
        published = {row[0] for row in con.execute("select release_id from releases").fetchall()}
        accounts = con.execute("select count(*) from accounts").fetchone()[0]
        searches = con.execute("select count(*) from searches").fetchone()[0]
    say(f"published: releases={sorted(published)} accounts={accounts} searches={searches}")
    assert {first, second} <= published, published
    assert accounts > 0 and searches > 0, (accounts, searches)
    # the sensor's run recorded its own gates in the file, and foil status shows them (not a CLI build's)
    with duckdb.connect(str(services.warehouse), read_only=True) as con:
        run_id, checks = con.execute("select run_id, checks from build_info").fetchall()[0]
    checks = json.loads(checks)
    assert checks and all(c["passed"] for c in checks) and any(c["check"].startswith("gx_") for c in checks), checks
    status = run_foil("status", "--warehouse", str(services.warehouse))
    assert f"gates of the published build (run {run_id}): {len(checks)}/{len(checks)} passed" in status.stdout, status.stdout


# --- 2. the asset graph the webserver serves -----------------------------------------------------

ASSETS_QUERY = """
{
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name blocking } }
    }
  }
}
"""


def test_asset_lineage_and_checks_in_the_webserver(services: Services):
    nodes = services.gql(ASSETS_QUERY)["assetNodes"]
    key = lambda k: "/".join(k["path"])  # noqa: E731
    group = {key(n["assetKey"]): n["groupName"] for n in nodes}
    deps = {key(n["assetKey"]): {key(d) for d in n["dependencyKeys"]} for n in nodes}
    checks = {key(n["assetKey"]): {c["name"]: c["blocking"] for c in n["assetChecksOrError"].get("checks", [])}
              for n in nodes}

    def upstream(asset: str) -> set[str]:
        seen, todo = set(), [asset]
        while todo:
            for dep in deps.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    assert group.get("raw/events") == "ingest", group
    assert group.get("published_warehouse") == "publish", group
    staging = {k for k in group if k.startswith("staging/")}
    assert staging and all(group[k] == "staging" for k in staging), staging
    assert any("raw/events" in deps[k] for k in staging), "no staging model reads raw/events"

    for mart in ("accounts", "searches", "contacts", "referrals"):
        name = f"marts/{mart}"
        assert group.get(name) == "marts", (name, group.get(name))
        above = upstream(name)
        assert "raw/events" in above and above & staging, (name, sorted(above))
        assert name in deps["published_warehouse"], (name, sorted(deps["published_warehouse"]))
        assert checks[name].get(f"gx_{mart}") is True, (name, checks[name])  # present and blocking
    say(f"lineage ok: {len(nodes)} assets, {sum(map(len, checks.values()))} checks")


# --- 3. the UI renders the graph ------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return None


def _headless(browser: str, profile: Path, url: str, output: str, done: Callable[[str], bool],
              window: str = "1600,1000") -> tuple[str, str]:
    """Load url in headless Chromium (waiting for the page's scripts) and write it as `output` says
    (--screenshot=... or --dump-dom); returns (stdout, Chromium's log). One retry with a fresh profile when
    `done(stdout)` is false, as headless Chromium occasionally hangs."""
    for attempt in (1, 2):
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}-{attempt}", f"--window-size={window}",
               "--virtual-time-budget=15000", output, url]
        say(f"chromium attempt {attempt}: {output} {url}")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, log = (b.decode(errors="replace") for b in proc.communicate(timeout=SCREENSHOT_TIMEOUT))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, log = (b.decode(errors="replace") for b in proc.communicate())
            log += f"\n(timed out after {SCREENSHOT_TIMEOUT} s)"
        if done(out):
            break
    return out, log


def _page_text(browser: str, profile: Path, url: str, keep: Path) -> str:
    """The text a user sees on the page, rendered by the UI's own scripts (DOM kept in `keep`). The window
    is tall because the UI renders only the rows and graph nodes in view."""
    dom, log = _headless(browser, profile, url, "--dump-dom", done=lambda out: "</html>" in out, window="1600,3000")
    keep.write_text(dom)
    assert "</html>" in dom, f"no DOM for {url}\n{log[-2000:]}"
    # scripts and styles dropped, then every tag
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", dom)))


def test_asset_graph_pages_show_the_pipeline(services: Services, tmp_path: Path):
    """What a user sees: the global lineage page names the pipeline's groups, and the marts group's
    list names its marts."""
    browser = _chromium()
    if not browser:
        pytest.skip("chromium is not installed: apt-get install chromium chromium-driver "
                    "(.ci/run installs it in CI)")
    pages = {f"{services.url}/asset-groups": ("ingest", "staging", "intermediate", "marts", "publish"),
             f"{services.url}/locations/{LOCATION}/asset-groups/marts/list": ("accounts", "searches", "contacts", "referrals")}
    for n, (url, names) in enumerate(pages.items()):
        keep = ARTIFACTS / f"asset-graph-{n}.html"
        text = _page_text(browser, tmp_path / f"chromium-dom-{n}", url, keep)
        missing = [name for name in names if not re.search(rf"(?<![\w/]){re.escape(name)}\b", text)]
        assert not missing, f"{url} does not show {missing} (its DOM: {keep}); it shows: {' '.join(text.split())[:1500]}"
        say(f"{url} shows {', '.join(names)}")


def test_asset_graph_screenshot(services: Services, tmp_path: Path):
    browser = _chromium()
    if not browser:
        pytest.skip("chromium is not installed: apt-get install chromium chromium-driver "
                    "(.ci/run installs it in CI)")
    shot = ARTIFACTS / "asset-graph.png"
    url = f"{services.url}/asset-groups"   # "Global asset lineage": ingest -> staging -> ... -> publish
    shot.unlink(missing_ok=True)
    _, output = _headless(browser, tmp_path / "chromium-shot", url, f"--screenshot={shot}",
                          done=lambda _: shot.is_file() and shot.stat().st_size > 0)
    assert shot.is_file(), f"no screenshot written:\n{output[-2000:]}"
    size = shot.stat().st_size
    assert size > 20_000, f"{shot} is only {size} bytes (blank page?)\n{output[-2000:]}"
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=100_000)  # None: more than that many colours
    assert colours is None or len(colours) > 50, f"{shot} is nearly a single colour: {sorted(colours)[-5:]}"
    say(f"screenshot ok: {shot} ({size} bytes)")
