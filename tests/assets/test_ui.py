"""The real thing: `dagster dev` (webserver + daemon) on this repository's dagster.yaml, a run of
the main job launched through the UI's GraphQL API, and the run's outcome read back from it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", method="POST",
                                 data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
    assert "errors" not in body, body
    return body["data"]


def test_main_job_runs_from_the_ui(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "FOUNDRY_DATA_ROOT": str(tmp_path / "data"),
           "FOUNDRY_PROFILE": "sample"}
    dagster = Path(sys.executable).with_name("dagster")
    log = open(tmp_path / "dagster_dev.log", "wb")  # a file, not a pipe: an unread pipe fills and stalls the server
    proc = subprocess.Popen([str(dagster), "dev", "-m", "assets.definitions", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        location = None
        while time.monotonic() < deadline and location is None:
            try:
                data = gql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name "
                                 "locationOrLoadError { __typename } } } } }")
                entries = data["workspaceOrError"]["locationEntries"]
                if entries and entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation":
                    location = entries[0]["name"]
            except (OSError, AssertionError):
                time.sleep(1)
        assert location, "the webserver did not load the code location"

        launched = gql(port, """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
            __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
                       {"p": {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                                           "pipelineName": "foundry_all"}, "runConfigData": {}}})
        assert launched["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["launchPipelineExecution"]["run"]["runId"]

        status = None
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            status = gql(port, "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
                         {"id": run_id})["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(2)
        if status != "SUCCESS":
            events = gql(port, """query($id: ID!) { logsForRun(runId: $id, limit: 2000) { ... on EventConnection {
                events { __typename ... on MessageEvent { message stepKey } } } } }""", {"id": run_id})
            tail = [f"{e.get('stepKey')}: {(e.get('message') or '')[:200]}" for e in events["logsForRun"]["events"][-25:]]
            pytest.fail(f"run {run_id} ended {status}; last events:\n" + "\n".join(tail))
        nodes = gql(port, "{ assetNodes { assetKey { path } } }")["assetNodes"]
        assert ["bigmath_kept"] in [n["assetKey"]["path"] for n in nodes]
        assert (tmp_path / "data" / "foundry.duckdb").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
