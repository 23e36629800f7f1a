"""The committed sample shards and the default (no-LLM) build on them, with exact figures."""

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.owm.config import GPT2_TOKENIZER, SAMPLE_SHARDS, OwmConfig
from pipelines.owm.pipeline import build_corpora
from pipelines.owm.scorers import BaselineScorer

REPO = Path(__file__).resolve().parents[3]
SHARED_DATA = Path(os.environ.get("FOUNDRY_SHARED_DATA", REPO.parent / "shared" / "data"))
SHARED = SHARED_DATA / "owm"


def test_sample_shards_have_the_openwebmath_schema_and_attribution():
    se, wiki = (pq.read_table(p) for p in SAMPLE_SHARDS)
    assert se.num_rows == 987 and wiki.num_rows == 1000
    for t in (se, wiki):
        assert t.column_names == ["text", "url", "date", "metadata"]
        assert all(u.startswith("https://") for u in t.column("url").to_pylist())
        assert all("CC BY-SA" in json.loads(m)["license"] for m in t.column("metadata").to_pylist())
    assert {json.loads(m)["source"] for m in se.column("metadata").to_pylist()} == {"stackexchange"}
    assert Path(GPT2_TOKENIZER).exists()


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/owm is only on the maintainers' machine")
def test_the_build_script_is_deterministic(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, str(REPO / "scripts" / "build_owm_sample.py"), "--shared", str(SHARED_DATA), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    for p in SAMPLE_SHARDS:
        assert (tmp_path / Path(p).name).read_bytes() == Path(p).read_bytes(), f"{p} differs from a rebuild"


def test_default_profile_builds_both_corpora_without_an_llm():
    build = build_corpora(OwmConfig())
    s = build.stats
    assert s["rows_read"] == 1987 and s["read_rejected"] == 0
    assert s["scorer_kind"] == "baseline" and s["labelling_model"] is None
    assert s["scorer_version"] == BaselineScorer().version and s["tokenizer"] == "gpt2"
    assert s["budget"] == 60_000
    assert 0.95 * 60_000 <= s["tokens"]["enriched"] <= 60_000 and 0.95 * 60_000 <= s["tokens"]["control"] <= 60_000
    # exact figures: a change to the detector, the tokenizer, the rule or the seed shows up here
    assert s["documents"] == {"enriched": 62, "control": 83}
    assert s["tokens"] == {"enriched": 59932, "control": 59955}
    assert s["rejected"] == {"over_budget": 1842}
    # the baseline's lexical cues are not math-specific: 19 of 62 enriched documents are Wikipedia prose
    from_wiki = build.enriched.get_column("url").str.contains("wikipedia.org").sum()
    assert from_wiki == 19 and build.control.get_column("url").str.contains("wikipedia.org").sum() == 40
