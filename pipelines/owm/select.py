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

All of it is decided by :func:`decide` on *ledger rows* (:func:`ledger`: id, shard, row, scores,
token counts, where the text would be cut), so it runs the same on small rows without text
(:func:`select_two_pass`: bounded memory, the chosen documents fetched in a second pass) and on
full rows (:func:`select_corpora`: one frame, small inputs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Sequence

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
    cuts, kept, original = count_tokens(texts, tokenizer_path, max_tokens)
    return [t if c is None else t[:c] for t, c in zip(texts, cuts)], kept, original


def count_tokens(texts: Sequence[str], tokenizer_path: str, max_tokens: int) -> tuple[list[int | None], list[int], list[int]]:
    """``(character offset of the cut or None, tokens after the cut, tokens before)``: what the
    selection needs of a text, without keeping the text (pass 1 of the two-pass selection)."""
    tok = load_tokenizer(tokenizer_path)
    cuts, kept, original = [], [], []
    for enc in tok.encode_batch(list(texts), add_special_tokens=False):
        n = len(enc.ids)
        original.append(n)
        cuts.append(enc.offsets[max_tokens - 1][1] if n > max_tokens else None)
        kept.append(min(n, max_tokens))
    return cuts, kept, original


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


POS = "_pos"          # the document's position in the stream: the key between the two passes
CUT = "_cut_chars"    # where the text is cut at max_tokens (null: not cut)
TOKEN_COLS = ("n_tokens", "n_tokens_original", "truncated", "tokenizer")
LEDGER_COLS = ("doc_id", "shard", "row", *SCORE_COLS)


def ledger(scored: pl.DataFrame, cfg: OwmConfig, offset: int = 0, keep_all: bool = False) -> pl.DataFrame:
    """Pass 1 for one batch of scored documents: per document its id, where it came from, its
    scores, its token counts and where its text would be cut -- a few dozen bytes, no text
    (``keep_all`` keeps every column: the one-frame path). ``offset`` = documents before this batch."""
    cuts, n_tokens, n_orig = count_tokens(scored.get_column("text").to_list(), cfg.tokenizer_path, cfg.max_tokens)
    base = scored if keep_all else scored.select(LEDGER_COLS)
    return base.with_columns(pl.int_range(offset, offset + scored.height, dtype=pl.Int64).alias(POS),
                             pl.Series(CUT, cuts, dtype=pl.Int64), pl.Series("n_tokens", n_tokens, dtype=pl.Int64),
                             pl.Series("n_tokens_original", n_orig, dtype=pl.Int64))


def _cut_text(frame: pl.DataFrame) -> pl.DataFrame:
    if "text" not in frame.columns:
        return frame
    return frame.with_columns(pl.when(pl.col(CUT).is_null()).then(pl.col("text"))
                              .otherwise(pl.col("text").str.slice(0, pl.col(CUT))).alias("text"))


def decide(frame: pl.DataFrame, cfg: OwmConfig) -> Selection:
    """The selection over ledger rows (:func:`ledger`), in input order. Works the same on the small
    rows of pass 1 (no text) and on full rows (the one-frame path); the sets come back with the
    ledger's columns plus ``set``, ``split``, ``truncated`` and ``tokenizer``."""
    rejected: list[pl.DataFrame] = []
    n_in = frame.height
    token_cols = [POS, CUT, "n_tokens", "n_tokens_original"]
    dup = frame.select(pl.col("doc_id").is_duplicated() & ~pl.col("doc_id").is_first_distinct()).to_series()
    rejected.append(_reject(frame.filter(dup).drop(token_cols[1:]), reasons.DUPLICATE,
                            "same normalized text as an earlier document"))
    frame = _cut_text(frame.filter(~dup))
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
    empty = _reject(frame.clear().drop("set", "_order", *TOKEN_COLS), reasons.DUPLICATE, "")
    rej = pl.concat([r for r in rejected if r.height], how="diagonal_relaxed") if any(r.height for r in rejected) else empty
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


def _without_ledger(selection: Selection) -> Selection:
    drop = lambda f: f.drop(POS, CUT, strict=False)  # noqa: E731
    return Selection(drop(selection.enriched), drop(selection.control), drop(selection.rejected), selection.stats)


def select_corpora(scored: pl.DataFrame, cfg: OwmConfig) -> Selection:
    """Split ``scored`` (one row per read document, with ``score_*`` columns) into the sets, in one
    frame (small inputs; the rejected rows keep every column). :func:`select_two_pass` gives the same
    sets holding only the small ledger rows."""
    return _without_ledger(decide(ledger(scored, cfg, keep_all=True), cfg))


class InputChangedError(RuntimeError):
    """Pass 2 read different documents than pass 1 (a shard changed between the passes)."""


def select_two_pass(pass1: Iterable[pl.DataFrame], pass2: Callable[[pl.DataFrame], Iterable[pl.DataFrame]],
                    cfg: OwmConfig) -> Selection:
    """The same sets as :func:`select_corpora`, with bounded memory.

    ``pass1`` yields the scored documents batch by batch, in input order; only their ledger rows
    (:func:`ledger`: ids, scores, token counts) are kept, and the selection is decided on those.
    ``pass2(chosen)`` is then called with the chosen ledger rows (``_pos``, ``doc_id``) and must
    yield the scored documents again, in the same order, each batch with its ``_pos`` column; it may
    yield only the chosen ones (and score only those). Memory: the ledger (O(documents), no text)
    plus the chosen documents, which the token budget bounds. The rejected rows are ledger rows
    (no text: it stays in the shards)."""
    parts, offset, template = [], 0, None
    for batch in pass1:
        if template is None:
            template = batch.head(0)  # the documents' columns, for the output (even when nothing is chosen)
        parts.append(ledger(batch, cfg, offset))
        offset += batch.height
    small = pl.concat(parts, how="vertical") if parts else None
    if small is None:
        raise ValueError("no documents to select from: every shard was empty or unreadable")
    decided = decide(small, cfg)
    chosen = pl.concat([decided.enriched, decided.control], how="vertical").select(POS, "doc_id", CUT, *TOKEN_COLS, "set", "split")
    found = [template.with_columns(pl.lit(None, dtype=pl.Int64).alias(POS)).join(chosen, on=POS, suffix="_ledger")
             .drop("doc_id_ledger")]
    for batch in pass2(chosen.select(POS, "doc_id")):
        hit = batch.join(chosen, on=POS, how="inner", suffix="_ledger")
        bad = hit.filter(pl.col("doc_id") != pl.col("doc_id_ledger"))
        if bad.height:
            r = bad.row(0, named=True)
            raise InputChangedError(f"{r.get('shard')} row {r.get('row')}: pass 2 read document {r['doc_id']} where pass 1 "
                                    f"read {r['doc_id_ledger']}; the shards changed between the passes -- rerun on "
                                    f"unchanging inputs (pin the Hub revision, copy the files)")
        found.append(_cut_text(hit.drop("doc_id_ledger")))
    full = pl.concat(found, how="vertical_relaxed")
    if full.height != chosen.height:
        raise InputChangedError(f"pass 2 found {full.height} of the {chosen.height} chosen documents; the shards changed "
                                f"between the passes -- rerun on unchanging inputs")
    order = [c for c in template.columns if c != POS] + [*TOKEN_COLS, "set", "split"]
    sets = {name: full.filter(pl.col("set") == name).select(order).sort("doc_id") for name in (ENRICHED, CONTROL)}
    return Selection(sets[ENRICHED], sets[CONTROL], decided.rejected.drop(POS, CUT, strict=False), decided.stats)
