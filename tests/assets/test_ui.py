"""The real thing: `dagster dev` (webserver + daemon) on this repository's dagster.yaml; what the
catalog shows (partitions, resources), a family's job launched as the launchpad does, then a
backfill of ONE partition of a partitioned asset (what a data engineer does after a fix), both
through the UI's GraphQL API, their outcomes read back from it. (Everything at once is `make run`;
a whole-graph backfill is ~50 runs, too slow for CI's two cores.)"""

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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


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


def wait_for_run(port: int, run_id: str, timeout_s: float = 900) -> None:
    status = None
    deadline = time.monotonic() + timeout_s
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


def test_a_job_and_a_one_partition_backfill_run_from_the_ui(tmp_path):
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

        # what the catalog shows: partitions, the three resources
        nodes = gql(port, "{ assetNodes { assetKey { path } partitionKeys } }")["assetNodes"]
        partitions = {tuple(n["assetKey"]["path"]): n["partitionKeys"] for n in nodes}
        assert "mcts" in partitions[("countdown_search_traces",)] and "gsm8k" in partitions[("bigmath_normalized",)]
        resources = gql(port, """query($r: RepositorySelector!) { allTopLevelResourceDetailsOrError(repositorySelector: $r)
            { ... on ResourceDetailsList { results { name } } } }""",
                        {"r": {"repositoryLocationName": location, "repositoryName": "__repository__"}})
        names = {r["name"] for r in resources["allTopLevelResourceDetailsOrError"]["results"]}
        assert {"foundry", "io_manager", "llm"} <= names

        # the launchpad: Countdown's unpartitioned assets (problems, funnel, rejected) as one run of countdown_job
        launched = gql(port, """mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
            __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
                       {"p": {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                                           "pipelineName": "countdown_job"}, "runConfigData": {}}})
        assert launched["launchPipelineExecution"]["__typename"] == "LaunchRunSuccess", launched
        wait_for_run(port, launched["launchPipelineExecution"]["run"]["runId"])

        # a backfill of one partition: the mcts strategy's search traces, run by the daemon
        launched = gql(port, """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
            __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
                       {"p": {"assetSelection": [{"path": ["countdown_search_traces"]}], "partitionNames": ["mcts"]}})
        assert launched["launchPartitionBackfill"]["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["launchPartitionBackfill"]["backfillId"]
        status = None
        deadline = time.monotonic() + 900  # generous: a daemon tick, a run launch and the search on a busy machine
        while time.monotonic() < deadline:
            status = gql(port, "query($id: String!) { partitionBackfillOrError(backfillId: $id) "
                               "{ ... on PartitionBackfill { status } } }", {"id": backfill_id}
                         )["partitionBackfillOrError"]["status"]
            if status not in ("REQUESTED", "IN_PROGRESS"):
                break
            time.sleep(3)
        if status not in ("COMPLETED", "COMPLETED_SUCCESS"):
            runs = gql(port, """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs { results { runId status
                stepKeysToExecute tags { key value } } } } }""", {"f": {"tags": [{"key": "dagster/backfill",
                                                                                    "value": backfill_id}]}})
            failed = [r for r in runs["runsOrError"]["results"] if r["status"] != "SUCCESS"]
            pytest.fail(f"backfill {backfill_id} ended {status}; runs not successful: {failed[:5]}")
        traces = tmp_path / "data" / "assets" / "countdown_search_traces"
        assert sorted(p.name for p in traces.iterdir() if not p.name.startswith(".")) == ["strategy=mcts"]
        assert (tmp_path / "data" / "assets" / "countdown_search_traces" / "strategy=mcts" / "part-0.parquet").exists()
        assert (tmp_path / "data" / "foundry.duckdb").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
