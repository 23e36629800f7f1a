"""Behavior-enriched and control corpora from scored documents, under matched token budgets.

Order of operations (each drop carries a reason from :mod:`pipelines.owm.reasons`):

1. duplicates (same content id) -> ``duplicate``;
2. tokens counted with the repo's tokenizer; a document over ``max_tokens`` is truncated at the
   token boundary (default, as the anchor clips lengths at 4,096) or rejected ``too_long``;
3. the selection rule sorts each document into enriched, control or the middle band
   (``middle_band``);
4. each set is shuffled with the seed (order = hash of seed and id, so the input order does not
   matter) and filled greedily up to the budget; a document that would overflow is skipped
   (``over_budget``) and the fill goes on with smaller ones;
5. both sets get the same budget: the configured one, or the smaller set's eligible tokens when
   that is less, so enriched and control stay matched;
6. a stable ``test_fraction`` of each set (by id) is the test split.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import polars as pl

from pipelines.behaviors.detector import BEHAVIORS
from pipelines.owm import reasons
from pipelines.owm.config import OwmConfig, SelectionRule
from pipelines.owm.evaluate import is_heldout

ENRICHED = "enriched"
CONTROL = "control"
SCORE_COLS = tuple(f"score_{b}" for b in BEHAVIORS)


@lru_cache(maxsize=4)
def load_tokenizer(path: str):
    from tokenizers import Tokenizer

    try:
        tok = Tokenizer.from_file(path)
    except Exception as exc:  # noqa: BLE001 - tokenizers raises plain Exception on a bad file
        raise ValueError(f"{path}: not a `tokenizers` JSON file ({exc}); copy one into data/tokenizers/") from exc
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_and_truncate(texts: Sequence[str], tokenizer_path: str, max_tokens: int) -> tuple[list[str], list[int], list[int]]:
    """``(texts cut to max_tokens, tokens after the cut, tokens before)``; cut at a token's end offset."""
    tok = load_tokenizer(tokenizer_path)
    out_texts, kept, original = [], [], []
    for text, enc in zip(texts, tok.encode_batch(list(texts), add_special_tokens=False)):
        n = len(enc.ids)
        original.append(n)
        if n > max_tokens:
            text = text[: enc.offsets[max_tokens - 1][1]]
            n = max_tokens
        out_texts.append(text)
        kept.append(n)
    return out_texts, kept, original


def classify(frame: pl.DataFrame, rule: SelectionRule) -> pl.Series:
    """``enriched``, ``control`` or null (the middle band) per row."""
    hits = pl.sum_horizontal([(pl.col(c) >= rule.enriched_min).cast(pl.Int32) for c in SCORE_COLS])
    quiet = pl.all_horizontal([pl.col(c) <= rule.control_max for c in SCORE_COLS])
    return frame.select(
        pl.when(hits >= rule.min_behaviors).then(pl.lit(ENRICHED))
        .when(quiet).then(pl.lit(CONTROL)).otherwise(pl.lit(None, dtype=pl.Utf8)).alias("set")
    ).to_series()


def shuffle_key(seed: int, doc_id: str) -> str:
    return hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()


def fill_budget(n_tokens: Sequence[int], budget: int) -> list[bool]:
    """Greedy fill in the given order: take a document when it still fits."""
    used, take = 0, []
    for n in n_tokens:
        fits = used + n <= budget
        take.append(fits)
        used += n if fits else 0
    return take


@dataclass
class Selection:
    enriched: pl.DataFrame
    control: pl.DataFrame
    rejected: pl.DataFrame
    stats: dict


def _reject(frame: pl.DataFrame, reason: str, detail: pl.Expr | str) -> pl.DataFrame:
    detail_expr = pl.lit(detail) if isinstance(detail, str) else detail
    return frame.with_columns(pl.lit("select").alias("step"), pl.lit(reason).alias("reason"), detail_expr.alias("detail"))


def select_corpora(scored: pl.DataFrame, cfg: OwmConfig) -> Selection:
    """Split ``scored`` (one row per read document, with ``score_*`` columns) into the sets."""
    rejected: list[pl.DataFrame] = []
    n_in = scored.height
    dup = scored.select(pl.col("doc_id").is_duplicated() & ~pl.col("doc_id").is_first_distinct()).to_series()
    rejected.append(_reject(scored.filter(dup), reasons.DUPLICATE, "same normalized text as an earlier document"))
    frame = scored.filter(~dup)

    texts, n_tokens, n_orig = count_and_truncate(frame.get_column("text").to_list(), cfg.tokenizer_path, cfg.max_tokens)
    frame = frame.with_columns(pl.Series("text", texts, dtype=pl.Utf8), pl.Series("n_tokens", n_tokens, dtype=pl.Int64),
                               pl.Series("n_tokens_original", n_orig, dtype=pl.Int64))
    frame = frame.with_columns((pl.col("n_tokens_original") > pl.col("n_tokens")).alias("truncated"),
                               pl.lit(cfg.tokenizer_name).alias("tokenizer"))
    if cfg.too_long == "reject":
        long = frame.get_column("truncated")
        rejected.append(_reject(frame.filter(long), reasons.TOO_LONG,
                                pl.format("{} tokens > max_tokens {}", pl.col("n_tokens_original"), pl.lit(cfg.max_tokens))))
        frame = frame.filter(~long)

    frame = frame.with_columns(classify(frame, cfg.rule))
    rejected.append(_reject(frame.filter(pl.col("set").is_null()), reasons.MIDDLE_BAND,
                            "scores clear neither the enriched rule nor the control rule").drop("set"))
    frame = frame.filter(pl.col("set").is_not_null())
    frame = frame.with_columns(pl.col("doc_id").map_elements(lambda d: shuffle_key(cfg.seed, d), return_dtype=pl.Utf8)
                               .alias("_order")).sort("_order")

    pools = {name: frame.filter(pl.col("set") == name) for name in (ENRICHED, CONTROL)}
    eligible = {name: int(p.get_column("n_tokens").sum() or 0) for name, p in pools.items()}
    budget = min(cfg.token_budget, *eligible.values())  # matched: neither set may outgrow the other's supply
    out = {}
    for name, pool in pools.items():
        take = pl.Series(fill_budget(pool.get_column("n_tokens").to_list(), budget), dtype=pl.Boolean)
        rejected.append(_reject(pool.filter(~take), reasons.OVER_BUDGET,
                                f"{name} budget {budget} tokens full").drop("set", "_order"))
        kept = pool.filter(take).drop("_order")
        split = kept.get_column("doc_id").map_elements(lambda d: "test" if is_heldout(d, cfg.seed + 1, cfg.test_fraction) else "train",
                                                       return_dtype=pl.Utf8)
        out[name] = kept.with_columns(split.alias("split")).sort("doc_id")
    rej = pl.concat([r for r in rejected if r.height], how="diagonal_relaxed") if any(r.height for r in rejected) else \
        _reject(scored.clear(), reasons.DUPLICATE, "")
    stats = {
        "documents_in": n_in, "tokenizer": cfg.tokenizer_name, "max_tokens": cfg.max_tokens, "too_long": cfg.too_long,
        "budget_configured": cfg.token_budget, "budget": budget, "eligible_tokens": eligible,
        "tokens": {n: int(f.get_column("n_tokens").sum() or 0) for n, f in out.items()},
        "documents": {n: f.height for n, f in out.items()},
        "test_documents": {n: int((f.get_column("split") == "test").sum()) for n, f in out.items()},
        "truncated": int(frame.get_column("truncated").sum() or 0),
        "rejected": dict(sorted(rej.group_by("reason").len().iter_rows())) if rej.height else {},
        "rule": {"enriched_min": cfg.rule.enriched_min, "min_behaviors": cfg.rule.min_behaviors,
                 "control_max": cfg.rule.control_max},
    }
    return Selection(out[ENRICHED], out[CONTROL], rej.sort("reason", "doc_id"), stats)
