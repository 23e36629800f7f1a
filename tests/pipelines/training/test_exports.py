"""Exports: veRL rows round-trip through `datasets` with the types veRL reads; versions and hashes."""

import polars as pl
import pytest

from pipelines.countdown.config import CountdownConfig
from pipelines.countdown.problems import build_problems, generate_candidates
from pipelines.training.exports import (bigmath_verl, countdown_verl, frame_sha256, manifest_frame, priming_sft,
                                        write_all)

TINY = CountdownConfig(n_problems=60, priming_rows=4)


@pytest.fixture(scope="module")
def problems():
    return build_problems(generate_candidates(TINY), TINY)[0]


def bigmath_frame():
    return pl.DataFrame({"problem_id": ["b", "a", "c"], "problem": ["1+1?", "2+2?", "no answer"],
                         "answer": ["2", "4", None], "source": ["toy", "toy", "toy"]})


def test_countdown_verl_round_trips_through_datasets(tmp_path, problems):
    from datasets import Dataset, Features, List, Value

    recs = write_all(tmp_path, problems=problems)
    train = next(r for r in recs if r.name == "countdown_verl_train")
    ds = Dataset.from_parquet(train.path)
    assert ds.num_rows == problems.filter(pl.col("split") != "test_heldout").height
    # the types veRL's RLHFDataset and TinyZero's reward read
    assert ds.features["data_source"] == Value("string")
    assert ds.features["prompt"] == List({"role": Value("string"), "content": Value("string")})
    assert ds.features["ability"] == Value("string")
    gt = ds.features["reward_model"]["ground_truth"]
    assert gt["target"] == Value("int64") and gt["numbers"] == List(Value("int64"))
    assert ds.features["extra_info"]["split"] == Value("string") and ds.features["extra_info"]["index"] == Value("int64")
    row = ds[0]
    assert row["data_source"] == "countdown" and row["ability"] == "math"
    assert row["prompt"][0]["role"] == "user" and row["prompt"][0]["content"].endswith("<think>")
    assert row["reward_model"]["style"] == "rule"
    source = problems.filter(pl.col("problem_id") == row["extra_info"]["problem_id"]).row(0, named=True)
    assert row["reward_model"]["ground_truth"] == {"target": source["target"], "numbers": source["numbers"]}
    assert [ds[i]["extra_info"]["index"] for i in range(3)] == [0, 1, 2]
    assert isinstance(Features.from_arrow_schema(ds.data.schema), Features)
    test = Dataset.from_parquet(next(r for r in recs if r.name == "countdown_verl_test").path)
    assert set(test["extra_info"][i]["split"] for i in range(test.num_rows)) == {"test"}


def test_bigmath_verl_ground_truth_is_the_answer():
    both = pl.concat([bigmath_verl(bigmath_frame(), s) for s in ("train", "test")])
    assert both.height == 2  # the row with no answer cannot be rewarded
    assert sorted(both["reward_model"].struct.field("ground_truth").to_list()) == ["2", "4"]
    assert both["prompt"].list.first().struct.field("content").str.contains("boxed").all()


def test_exports_record_version_and_hash_and_are_deterministic(tmp_path, problems):
    priming = pl.DataFrame({"set_name": ["s", "s", "t"], "problem_id": ["2", "1", "1"], "query": ["q2", "q1", "q"],
                            "completion": ["c2", "c1", "c"]})
    corpus = pl.DataFrame({"doc_id": ["d2", "d1", "d1", "d3"], "text": ["two", "one", "one again", ""]})
    qa = pl.DataFrame({"doc_id": ["q2", "q1"], "query": ["Solve x+1=2.", "What is 2+2?"],
                       "completion": ["<think>x=1</think><answer>1</answer>", "<think>4</think><answer>4</answer>"],
                       "domain": ["algebra", "arithmetic"]})
    kw = dict(problems=problems, priming=priming, priming_set="s", bigmath=bigmath_frame(), corpus=corpus, qa=qa,
              versions={"countdown_problems": "dagster:abc"})
    a = manifest_frame(write_all(tmp_path / "a", **kw))
    b = manifest_frame(write_all(tmp_path / "b", **kw))
    assert a["content_sha256"].to_list() == b["content_sha256"].to_list()  # same inputs, same bytes
    by = {r["name"]: r for r in a.to_dicts()}
    assert by["countdown_verl_train"]["dataset_version"] == "dagster:abc"
    assert by["bigmath_verl_train"]["dataset_version"] == f"sha256:{frame_sha256(bigmath_frame())[:16]}"
    assert by["priming_s"]["rows"] == 2 and by["pretrain_corpus"]["rows"] == 2  # duplicate id and empty text dropped
    assert pl.read_parquet(by["priming_s"]["path"])["query"].to_list() == ["q1", "q2"]
    assert pl.read_parquet(by["owm_qa"]["path"]).columns == ["doc_id", "query", "completion"]
    assert by["owm_qa"]["format"] == "query_completion" and by["owm_qa"]["rows"] == 2
    with pytest.raises(ValueError, match="no set 'x'"):
        priming_sft(priming, "x")
    with pytest.raises(ValueError, match="missing column"):
        countdown_verl(problems.drop("query"), "train")
