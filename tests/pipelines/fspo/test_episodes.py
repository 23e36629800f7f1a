"""The episode builder: the anchor's layout byte for byte, N+1-row windows, the token limit."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.fspo import reasons
from pipelines.fspo.config import FspoConfig
from pipelines.fspo.episodes import Shot, build_episodes, load_tokenizer, render_episode, windows

EXPECTED_PROMPT = (
    "# Example 1\n"
    "## Question \nWhat is 2+2?\n"
    "## Preferred Response \nFour: two and two make four.\n"
    "## Dispreferred Response \n4\n"
    "\n"
    "# Example 2\n"
    "## Question \nWhy is the sky blue?\n"
    "## Preferred Response \nSunlight scatters off air; blue scatters most.\n"
    "## Dispreferred Response \nIt just is.\n"
    "\n"
    "# Task\n"
    "Given the examples above, generate a preferred response to the following question.\n"
    "## Question \nWhat is a prime?\n"
)
EXPECTED_CHOSEN = "## Preferred Response \nA number with exactly two divisors.\n"
EXPECTED_REJECTED = "## Preferred Response \nOdd numbers.\n"
SHOTS = [Shot("What is 2+2?", "Four: two and two make four.", "4"),
         Shot("Why is the sky blue?", "Sunlight scatters off air; blue scatters most.", "It just is.")]
QUERY = Shot("What is a prime?", "A number with exactly two divisors.", "Odd numbers.")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(FspoConfig().tokenizer_path)


def test_render_matches_the_fixed_expected_episode():
    assert render_episode(SHOTS, QUERY) == (EXPECTED_PROMPT, EXPECTED_CHOSEN, EXPECTED_REJECTED)


def test_user_description_block_is_the_teacher_forced_form():
    prompt, _, _ = render_episode(SHOTS, QUERY, "The user is a college student.")
    assert "Generate a user description based on the examples above. Then, generate a preferred" in prompt
    assert prompt.endswith("## Question \nWhat is a prime?\n## User Description\nThe user is a college student.\n")


def test_windows_take_exactly_n_plus_1_rows_and_use_them_all():
    # the anchor takes N+2 rows per window and uses N+1 (one row wasted per episode); here none is
    assert windows(10, 4) == [range(0, 5), range(5, 10)]
    assert windows(9, 4) == [range(0, 5)]
    assert windows(4, 4) == []


def _shots_frame(n_rows: int, split: str = "train", user: str = "elix:u") -> pl.DataFrame:
    return pl.DataFrame({"domain": ["elix"] * n_rows, "split": [split] * n_rows, "user_id": [user] * n_rows,
                         "pair_id": [f"p{i:02d}" for i in range(n_rows)],
                         "question": [f"Question {i}?" for i in range(n_rows)],
                         "preferred": [f"good {i}" for i in range(n_rows)],
                         "dispreferred": [f"bad {i}" for i in range(n_rows)], "user": ["a college student"] * n_rows})


def test_episodes_load_with_datasets_and_match_the_expected_layout(tmp_path, tokenizer):
    import datasets

    shots = pl.DataFrame({"domain": ["elix"] * 3, "split": ["train"] * 3, "user_id": ["elix:u"] * 3,
                          "pair_id": ["a", "b", "c"], "question": [s.question for s in SHOTS + [QUERY]],
                          "preferred": [s.preferred for s in SHOTS + [QUERY]],
                          "dispreferred": [s.dispreferred for s in SHOTS + [QUERY]], "user": ["x"] * 3})
    cfg = FspoConfig(shots={"elix": 2}, passes=1, seed=0)
    kept, rejected, _, _ = build_episodes(shots, cfg, {}, tokenizer)
    path = tmp_path / "episodes.parquet"
    kept.write_parquet(path)
    ds = datasets.load_dataset("parquet", data_files={"train": str(path)}, split="train")
    assert ds.num_rows == 1 and rejected.height == 0
    row = ds[0]
    # one window of 3 rows, shuffled by the seeded pass: the query is whichever row came last
    query = next(s for s in SHOTS + [QUERY] if f"## Question \n{s.question}\n" in row["prompt"].split("# Task\n")[1])
    shots_in_order = [s for s in sorted(SHOTS + [QUERY], key=lambda s: row["prompt"].find(s.question)) if s != query]
    assert (row["prompt"], row["chosen"], row["rejected"]) == render_episode(shots_in_order, query)
    assert row["n_shots"] == 2 and row["n_tokens"] == len(tokenizer.encode(row["prompt"] + max(
        row["chosen"], row["rejected"], key=lambda t: len(tokenizer.encode(row["prompt"] + t).ids))).ids)


def test_over_the_limit_is_rejected_with_a_reason(tokenizer):
    shots = _shots_frame(5).with_columns(pl.lit("long " * 50).alias("preferred"))
    kept, rejected, funnel, _ = build_episodes(shots, FspoConfig(shots={"elix": 4}, passes=1, max_episode_tokens=100),
                                               {}, tokenizer)
    assert kept.height == 0 and rejected.get_column("reason").to_list() == [reasons.EPISODE_TOO_LONG]
    assert "> limit 100" in rejected.get_column("detail")[0]
    assert funnel.rejected_by_reason() == {reasons.EPISODE_TOO_LONG: 1}


def test_held_out_question_episodes_take_shots_from_train(tokenizer):
    shots = pl.concat([_shots_frame(6), _shots_frame(1, "test_questions").with_columns(pl.lit("q-held").alias("pair_id"))])
    kept, _, _, report = build_episodes(shots, FspoConfig(shots={"elix": 4}, passes=1), {}, tokenizer)
    held = kept.filter(pl.col("split") == "test_questions")
    assert held.height == 1 and held.get_column("query_pair_id")[0] == "q-held"
    assert all(p.startswith("p") for p in held.get_column("shot_pair_ids")[0])
    assert report["groups_too_small"] == []


def test_reshuffled_passes_drop_identical_episodes(tokenizer):
    # 5 rows and N=4: one window per pass; shuffles that repeat a window are dropped as duplicates
    kept, rejected, _, _ = build_episodes(_shots_frame(5), FspoConfig(shots={"elix": 4}, passes=40), {}, tokenizer)
    assert kept.get_column("episode_id").n_unique() == kept.height
    assert set(rejected.get_column("reason")) <= {reasons.DUPLICATE_EPISODE}
    assert kept.height + rejected.height == 40


def test_same_inputs_same_bytes(tmp_path, tokenizer):
    outs = []
    for i in range(2):
        kept, _, _, _ = build_episodes(_shots_frame(12), FspoConfig(shots={"elix": 4}, passes=3), {}, tokenizer)
        kept.write_parquet(tmp_path / f"{i}.parquet")
        outs.append((tmp_path / f"{i}.parquet").read_bytes())
    assert outs[0] == outs[1]
