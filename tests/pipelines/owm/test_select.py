"""Selection: dedup, 4,096-token cap, rule, seeded budgeted fill, matched budgets, test split."""

import polars as pl
import pytest

from pipelines.owm import reasons
from pipelines.owm.config import OwmConfig, SelectionRule
from pipelines.owm.select import count_and_truncate, fill_budget, select_corpora
from validators.owm import check_budgets, check_disjoint, check_max_tokens

BEH = ("verification", "backtracking", "subgoal_setting", "backward_chaining")


def scored(n: int, long_every: int = 0) -> pl.DataFrame:
    rows = []
    for i in range(n):
        words = 30 + (i * 7) % 50
        text = " ".join(f"w{i}x{j}" for j in range(words))
        if long_every and i % long_every == 0:
            text = "word " * 5000
            text += f"uniq{i}"
        s = 2.0 if i % 3 == 0 else (0.5 if i % 3 == 1 else 0.0)
        rows.append({"doc_id": f"d{i:04d}", "shard": "s", "row": i, "text": text, "url": None, "date": None, "metadata": "{}",
                     **{f"score_{b}": s for b in BEH}, **{f"count_{b}": int(s) for b in BEH},
                     "scorer_version": "v", "scorer_kind": "baseline", "labelling_model": None})
    return pl.DataFrame(rows)


CFG = OwmConfig(token_budget=3_000, rule=SelectionRule(enriched_min=1.0, control_max=0.0))


def test_sets_are_matched_disjoint_and_accounted():
    frame = scored(300)
    sel = select_corpora(frame, CFG)
    assert sel.enriched.height and sel.control.height
    assert check_budgets(sel.enriched, sel.control, sel.stats["budget"], CFG.budget_tolerance) == []
    assert check_disjoint(sel.enriched, sel.control) == []
    assert sel.enriched.height + sel.control.height + sel.rejected.height == 300
    assert set(sel.rejected.get_column("reason")) == {reasons.MIDDLE_BAND, reasons.OVER_BUDGET}
    assert (sel.enriched.get_column("score_verification") >= 1).all()
    assert (sel.control.get_column("score_verification") == 0).all()
    assert set(sel.enriched.get_column("tokenizer")) == {"gpt2"}


def test_input_order_does_not_change_the_sets():
    frame = scored(300)
    a = select_corpora(frame, CFG)
    b = select_corpora(frame.reverse(), CFG)
    assert a.enriched.get_column("doc_id").to_list() == b.enriched.get_column("doc_id").to_list()
    c = select_corpora(frame, CFG.with_(seed=7))
    assert c.enriched.get_column("doc_id").to_list() != a.enriched.get_column("doc_id").to_list()


def test_long_documents_are_truncated_to_max_tokens_or_rejected():
    frame = scored(60, long_every=3)  # the long ones are the enriched ones (i % 3 == 0)
    big = CFG.with_(token_budget=10**9)
    sel = select_corpora(frame, big)
    assert check_max_tokens(sel.enriched, 4096, "enriched") == []
    assert sel.stats["truncated"] == 20
    long = sel.enriched.filter(pl.col("truncated"))
    assert long.height >= 1 and (long.get_column("n_tokens") == 4096).all()
    assert (long.get_column("n_tokens_original") > 4096).all()
    assert long.get_column("text").str.len_chars().max() < 5000 * 5
    rej = select_corpora(frame, big.with_(too_long="reject"))
    assert rej.rejected.filter(pl.col("reason") == reasons.TOO_LONG).height == 20


def test_truncation_cuts_at_a_token_boundary():
    texts, kept, orig = count_and_truncate(["hello world " * 10], OwmConfig().tokenizer_path, 5)
    assert kept == [5] and orig[0] == 21 and texts[0] == "hello world hello world hello"  # 20 words + trailing space


def test_duplicates_are_rejected():
    frame = scored(30)
    sel = select_corpora(pl.concat([frame, frame.head(5)]), CFG)
    assert sel.rejected.filter(pl.col("reason") == reasons.DUPLICATE).height == 5


def test_fill_budget_skips_what_does_not_fit_and_goes_on():
    assert fill_budget([5, 10, 3, 2], 10) == [True, False, True, True]


def test_test_split_is_about_five_percent():
    sel = select_corpora(scored(3000), CFG.with_(token_budget=10**9))
    share = (sel.control.get_column("split") == "test").mean()
    assert 0.02 < share < 0.08


# ------------------------------------------------------------------ two-pass selection (bounded memory)

from pipelines.owm.select import POS, InputChangedError, ledger, select_two_pass  # noqa: E402


def _batches(frame: pl.DataFrame, rows: int):
    return [frame.slice(i, rows) for i in range(0, frame.height, rows)]


def _pass2(frame: pl.DataFrame, rows: int, seen: list):
    def run(chosen: pl.DataFrame):
        seen.append(chosen)
        for i, b in enumerate(_batches(frame, rows)):
            yield b.with_columns(pl.int_range(i * rows, i * rows + b.height, dtype=pl.Int64).alias(POS))
    return run


def _with_dups(frame: pl.DataFrame) -> pl.DataFrame:
    copies = frame.slice(0, 12).with_columns(pl.lit("s2").alias("shard"))  # the same texts again, later
    return pl.concat([frame, copies], how="vertical")


def _bytes(frame: pl.DataFrame) -> bytes:
    import io

    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def test_two_pass_gives_the_one_frame_sets_byte_for_byte():
    # duplicates, long documents (truncated, then rejected), middle band and over budget, at three batch sizes
    frame = _with_dups(scored(300, long_every=7))
    nothing = CFG.with_(rule=SelectionRule(min_behaviors=5))  # no document can be enriched: both sets empty
    for cfg in (CFG, CFG.with_(too_long="reject"), CFG.with_(token_budget=10**9), nothing):
        one = select_corpora(frame, cfg)
        assert set(one.rejected.get_column("reason")) >= {reasons.DUPLICATE, reasons.MIDDLE_BAND}
        for rows in (1, 37, 10_000):
            seen: list = []
            two = select_two_pass(_batches(frame, rows), _pass2(frame, rows, seen), cfg)
            assert _bytes(two.enriched) == _bytes(one.enriched) and _bytes(two.control) == _bytes(one.control)
            assert two.stats == one.stats
            slim = two.rejected.columns
            assert "text" not in slim  # rejected rows are ledger rows: no text held
            assert two.rejected.equals(one.rejected.select(slim))
            # pass 2 is told only the chosen documents, and the ledger of pass 1 holds no text
            assert seen[0].height == one.enriched.height + one.control.height
    assert "text" not in ledger(frame.head(3), CFG).columns


def test_two_pass_refuses_when_the_shards_change_between_passes():
    frame = scored(120)
    changed = frame.with_columns(pl.col("doc_id").reverse())  # same rows, other ids: a rewritten shard
    with pytest.raises(InputChangedError, match="changed between the passes"):
        select_two_pass(_batches(frame, 50), _pass2(changed, 50, []), CFG)
    with pytest.raises(InputChangedError, match="found 0 of the"):
        select_two_pass(_batches(frame, 50), lambda chosen: iter(()), CFG)


def test_sample_build_is_the_same_as_the_one_frame_selection():
    """`build_corpora` (two passes over the sample's shards) selects byte for byte what the one-frame
    selection selects from every scored row at once."""
    from pipelines.owm.config import config_for_profile
    from pipelines.owm.pipeline import build_corpora, read_scored
    from pipelines.owm.scorers import BaselineScorer

    cfg = config_for_profile("sample")
    build = build_corpora(cfg)
    scored_all, _ = read_scored(cfg, BaselineScorer())
    one = select_corpora(scored_all, cfg)
    assert (build.enriched.height, build.control.height) == (62, 83)
    assert _bytes(build.enriched) == _bytes(one.enriched) and _bytes(build.control) == _bytes(one.control)
    assert {k: v for k, v in build.stats.items() if k in one.stats} == one.stats
    # and the rows the one-pass selection selected before the two-pass one existed (main at d5de1db)
    import hashlib

    digest = {n: hashlib.sha256(f.write_csv().encode()).hexdigest()[:16] for n, f in (("e", build.enriched), ("c", build.control))}
    assert digest == {"e": "db9251c057496bac", "c": "d7eb6776388c8e32"}
