"""Load the whole Definitions and compare the graph (keys, deps, groups, checks) with a snapshot,
so an accidental change to the graph shows up in review. Regenerate deliberately with
``UPDATE_SNAPSHOT=1 pytest tests/assets/test_definitions.py``."""

import json
import os
from pathlib import Path

from dagster import Definitions

from assets.definitions import MAIN_JOB, build_definitions

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def graph_snapshot(defs: Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        out[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "has_description": bool(node.description),
        }
    return out


def test_definitions_load_and_match_snapshot(tmp_path):
    defs = build_definitions(data_root=str(tmp_path))
    assert defs.resolve_job_def(MAIN_JOB) is not None
    snap = graph_snapshot(defs)
    assert all(v["has_description"] for v in snap.values()), "every asset needs a description for the UI"
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n")
    assert snap == json.loads(SNAPSHOT.read_text())


def test_the_module_level_defs_is_what_dagster_loads():
    import assets.definitions as d

    assert isinstance(d.defs, Definitions)
