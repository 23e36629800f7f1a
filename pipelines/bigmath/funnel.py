"""The Big-Math funnel: sources -> normalized rows -> a chain of keep/reject steps.

Every input row ends in exactly one of ``kept`` or ``rejected`` (with ``reason`` and ``step``);
the funnel table says how many each step took in, kept and rejected per reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import polars as pl

from pipelines.bigmath import prefilter as P
from pipelines.bigmath import reasons as R
from pipelines.bigmath import signals
from pipelines.bigmath.dedup import (
    ContaminationIndex,
    DecontamConfig,
    NearDedupConfig,
    NormalizedMemo,
    exact_duplicates,
    lsh_ranges,
    near_duplicates,
)
from pipelines.bigmath.normalize import NormalizeConfig, normalize_source
from pipelines.bigmath.schema import REJECTED_SCHEMA, SCHEMA
from pipelines.bigmath.sources import SourceRows, SourceSpec, load_source
from pipelines.bigmath.fastpath import verify_with_fast_path
from pipelines.bigmath.verify import VerifyItem, verify_answers
from pipelines.core import storage
from pipelines.core.io import read_records
from pipelines.core.steps import Funnel, Step, StepResult, concat_rejected, measure_step, reject_where, run_steps


@dataclass(frozen=True)
class EvalSetSpec:
    """An evaluation set to decontaminate against: files and the column holding the problem."""

    name: str
    files: tuple[str, ...]
    field: str = "problem"
    limit: int | None = None  # only the first N rows (e.g. a held-out slice)


@dataclass(frozen=True)
class VerifyConfig:
    workers: int = 2
    item_timeout_s: float = 5     # CPU seconds per item, counted from when a worker starts it
    retry_factor: float = 4       # a timed-out item is retried alone with this many times the budget
    fast_path: bool = True        # plain numbers are decided without math-verify (pipelines/bigmath/fastpath.py)
    max_timeout_share: float = 0.001  # the blocking check fails the run above this share of verify_timeout rows


@dataclass(frozen=True)
class FunnelConfig:
    sources: tuple[SourceSpec, ...]
    eval_sets: tuple[EvalSetSpec, ...] = ()
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    near_dedup: NearDedupConfig = field(default_factory=NearDedupConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    language_min_confidence: float = 0.9
    base_dir: str | None = None  # relative file paths resolve against it
    # profiles set it: no evaluation set would silently skip decontamination (see pipelines/config.py)
    require_eval_sets: bool = False


@dataclass
class FunnelResult:
    kept: pl.DataFrame
    rejected: pl.DataFrame
    funnel: Funnel
    rows_in: int
    source_rows_in: dict[str, int]
    source_revisions: dict[str, str]
    eval_set_sizes: dict[str, int]

    @property
    def funnel_frame(self) -> pl.DataFrame:
        return self.funnel.to_frame()


# ------------------------------------------------------------------ reading


def read_all(config: FunnelConfig) -> tuple[pl.DataFrame, pl.DataFrame, list[SourceRows]]:
    """Read and normalize every source: (rows, quarantined rows, raw sources)."""
    base = Path(config.base_dir) if config.base_dir else None
    frames, bad, loaded = [], [], []
    for spec in config.sources:
        src = load_source(spec, base)
        loaded.append(src)
        ok, quarantined = normalize_source(src, config.normalize)
        frames.append(ok)
        bad.append(quarantined)
    rows = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=SCHEMA)
    quarantined = concat_rejected(bad, SCHEMA)
    return rows, quarantined.select(list(REJECTED_SCHEMA)), loaded


def build_contamination_index(config: FunnelConfig) -> ContaminationIndex:
    index = ContaminationIndex(config.decontam)
    base = Path(config.base_dir) if config.base_dir else None
    for ev in config.eval_sets:
        if hasattr(ev, "texts"):  # a Hub evaluation set (pipelines/bigmath/sources.py HubEvalSet)
            index.add(ev.name, ev.texts(base))
            continue
        texts: list[str] = []
        for f in ev.files:  # a local path (relative to the profile's base) or an fsspec URI
            p = f if storage.is_uri(f) else Path(f) if Path(f).is_absolute() or base is None else base / f
            for rec in (storage.read_records(p) if storage.is_uri(p) else read_records(p)):
                if rec.record is not None and isinstance(rec.record.get(ev.field), str):
                    texts.append(rec.record[ev.field])
        index.add(ev.name, texts[: ev.limit] if ev.limit is not None else texts)
    return index


# ------------------------------------------------------------------ steps


def _detect_candidates(frame: pl.DataFrame, prefilter: P.Prefilter | None, detect: Callable[..., bool],
                       columns: Sequence[str]) -> pl.Series:
    """``detect`` (one positional argument per name in ``columns``) on the rows ``prefilter`` lets
    through; every other row is False without the Python call (pipelines/bigmath/prefilter.py:
    necessary conditions, run in stages)."""
    if prefilter is None:
        values = [frame.get_column(c).to_list() for c in columns]
        return pl.Series([detect(*v) for v in zip(*values)], dtype=pl.Boolean)
    idx = P.candidate_rows(frame, prefilter)
    flags = np.zeros(frame.height, dtype=bool)
    if len(idx):
        sub = frame.select(list(columns))[idx]  # only the candidates' cells become Python objects
        values = [sub.get_column(c).to_list() for c in columns]
        flags[idx] = [detect(*v) for v in zip(*values)]
    return pl.Series(flags, dtype=pl.Boolean)


def _text_step(name: str, reason: str, detect: Callable[[str], bool], llm_column: str | None = None,
               prefilter: P.Prefilter | None = None) -> Step:
    def fn(frame: pl.DataFrame) -> StepResult:
        flags = _detect_candidates(frame, prefilter, detect, ("problem",))
        if llm_column is not None:
            flags = flags | frame.get_column(llm_column).fill_null(False)
        return reject_where(frame, flags, reason=reason, step=name)

    return Step(name, fn, f"reject rows where {detect.__name__} holds ({reason})")


def _row_step(name: str, reason: str, detect: Callable[..., bool], llm_column: str | None = None,
              columns: Sequence[str] = ("problem", "answer"), prefilter: P.Prefilter | None = None) -> Step:
    """``detect`` takes the row's ``columns`` as positional arguments, in that order."""
    def fn(frame: pl.DataFrame) -> StepResult:
        flags = _detect_candidates(frame, prefilter, detect, columns)
        if llm_column is not None:
            flags = flags | frame.get_column(llm_column).fill_null(False)
        return reject_where(frame, flags, reason=reason, step=name)

    return Step(name, fn)


def contamination_step(index: ContaminationIndex, memo: NormalizedMemo | None = None) -> Step:
    """``memo``: shared with the near dedup step of the same run (it normalizes the same texts again)."""
    def fn(frame: pl.DataFrame) -> StepResult:
        texts = frame.get_column("problem").to_list()
        flags, details = index.flags(texts, memo.remember(texts) if memo is not None else None)
        return reject_where(frame, pl.Series(flags, dtype=pl.Boolean), reason=R.CONTAMINATED, step="decontaminate",
                            detail=pl.Series(details, dtype=pl.Utf8))

    return Step("decontaminate", fn)


def language_step(min_confidence: float) -> Step:
    detector = signals.LanguageDetector(min_confidence=min_confidence)

    def fn(frame: pl.DataFrame) -> StepResult:
        out = detector.non_english_many(frame.get_column("problem").to_list())  # the model's walk batched over rows
        flags = pl.Series([o[0] for o in out], dtype=pl.Boolean)
        details = pl.Series([o[1] if o[0] else None for o in out], dtype=pl.Utf8)
        return reject_where(frame, flags, reason=R.NON_ENGLISH, step="language", detail=details)

    return Step("language", fn)


def missing_answer_step() -> Step:
    def fn(frame: pl.DataFrame) -> StepResult:
        answer = pl.col("answer").str.strip_chars()
        mask = answer.is_null() | (answer == "") | answer.str.to_lowercase().is_in(["none", "n/a", "null", "nan", "\\boxed{}"])
        return reject_where(frame, mask, reason=R.MISSING_ANSWER, step="missing_answer")

    return Step("missing_answer", fn)


def verify_step(config: VerifyConfig) -> Step:
    def fn(frame: pl.DataFrame) -> StepResult:
        items = [
            VerifyItem(a, s if origin == "column" else None)  # an answer taken from the solution agrees with it by construction
            for a, s, origin in frame.select("answer", "solution", "answer_origin").iter_rows()
        ]
        pool = dict(workers=config.workers, item_timeout_s=config.item_timeout_s, retry_factor=config.retry_factor)
        if config.fast_path:
            outcomes, _ = verify_with_fast_path(items, **pool)
        else:
            outcomes = verify_answers(items, **pool)
        reason = [_verify_reason(o) for o in outcomes]
        mask = pl.Series([r is not None for r in reason], dtype=pl.Boolean)
        return reject_where(frame, mask, reason=pl.Series(reason, dtype=pl.Utf8), step="verify_answer",
                            detail=pl.Series([o.detail for o in outcomes], dtype=pl.Utf8))

    return Step("verify_answer", fn)


def _verify_reason(o) -> str | None:
    if o.timed_out:  # the machine ran out of time, not the row out of sense: never unparseable_answer
        return R.VERIFY_TIMEOUT
    if not o.parsed:
        return R.UNPARSEABLE_ANSWER
    return R.ANSWER_MISMATCH if o.agrees is False else None


def exact_dedup_step() -> Step:
    def fn(frame: pl.DataFrame) -> StepResult:
        flags, _ = exact_duplicates(frame.get_column("problem").to_list())
        return reject_where(frame, pl.Series(flags, dtype=pl.Boolean), reason=R.DUPLICATE, step="exact_dedup")

    return Step("exact_dedup", fn)


def near_dedup_step(config: NearDedupConfig, memo: NormalizedMemo | None = None) -> Step:
    """``memo``: the texts the contamination step of the same run normalized (the survivors' are reused)."""
    lsh_ranges(config)  # the LSH bands (datasketch integrates for them) once, when the step is built

    def fn(frame: pl.DataFrame) -> StepResult:
        texts = frame.get_column("problem").to_list()
        matches = near_duplicates(texts, config, memo.recall(texts) if memo is not None else None)
        ids = frame.get_column("problem_id").to_list()
        sources = frame.get_column("source").to_list()
        details = [None if m is None else f"near copy of {ids[int(m)]} ({sources[int(m)]})" for m in matches]
        return reject_where(frame, pl.Series([m is not None for m in matches], dtype=pl.Boolean),
                            reason=R.NEAR_DUPLICATE, step="near_dedup", detail=pl.Series(details, dtype=pl.Utf8))

    return Step("near_dedup", fn)


def build_steps(config: FunnelConfig, index: ContaminationIndex | None = None) -> list[Step]:
    proof_sources = {s.name for s in config.sources if s.proof_source}
    steps: list[Step] = []
    memo = NormalizedMemo()  # this run's: decontamination's normalized texts, reused by near dedup
    if index is not None and len(index):
        steps.append(contamination_step(index, memo))
    steps += [
        _text_step("hyperlink", R.HYPERLINK, signals.has_hyperlink, prefilter=P.hyperlink()),
        _row_step("multiple_choice", R.MULTIPLE_CHOICE, signals.is_multiple_choice, "llm_multiple_choice",
                  columns=("problem", "options", "answer"), prefilter=P.multiple_choice()),
        _row_step("proof", R.PROOF, lambda problem, source: source in proof_sources or signals.is_proof(problem),
                  "llm_proof", columns=("problem", "source"), prefilter=P.proof(proof_sources)),
        _row_step("yes_no", R.YES_NO, signals.is_yes_no, "llm_yes_no", prefilter=P.yes_no()),
        _row_step("true_false", R.TRUE_FALSE, signals.is_true_false, prefilter=P.true_false()),
        _row_step("multi_part", R.MULTI_PART, signals.is_multi_part, "llm_multi_part", prefilter=P.multi_part()),
        _text_step("figure", R.FIGURE, signals.needs_figure, prefilter=P.figure()),
        language_step(config.language_min_confidence),
        missing_answer_step(),
        verify_step(config.verify),
        exact_dedup_step(),
        near_dedup_step(config.near_dedup, memo),
    ]
    return steps


def run_funnel(config: FunnelConfig) -> FunnelResult:
    probe = Funnel()
    with measure_step(probe, "normalize"):
        rows, quarantined, loaded = read_all(config)
    result = filter_rows(rows, quarantined, config, loaded)
    result.funnel.timings[:0] = probe.timings  # reading + normalizing is the funnel's first step
    return result


def start_funnel(rows: pl.DataFrame, quarantined: pl.DataFrame, config: FunnelConfig):
    """The funnel's first records, shared by the in-process and the engine paths: the refusal of a
    profile without evaluation sets, the normalize step, and the contamination index (timed)."""
    if config.require_eval_sets and not config.eval_sets:
        raise ValueError("this profile declares no evaluation set, so decontamination would silently not run; declare "
                         "eval_sets in pipelines/config.py or set FOUNDRY_ALLOW_NO_EVAL_SETS=1 to run without one")
    funnel = Funnel()
    rows_in = rows.height + quarantined.height
    funnel.record("normalize", rows_in, StepResult(rows, quarantined))
    with measure_step(funnel, "build_contamination_index"):
        index = build_contamination_index(config)
    return funnel, rows_in, index


def finish_funnel(kept: pl.DataFrame, rejected: pl.DataFrame, quarantined: pl.DataFrame, rows: pl.DataFrame,
                  funnel: Funnel, rows_in: int, index, loaded: Sequence[SourceRows] = ()) -> FunnelResult:
    """The result of either path: read-time and step rejects in one table, per-source counts and revisions."""
    all_rejected = concat_rejected([quarantined, rejected], SCHEMA).select(list(REJECTED_SCHEMA))
    both = pl.concat([rows.select("source", "source_revision"), quarantined.select("source", "source_revision")])
    counts = both.group_by("source").agg(pl.len(), pl.col("source_revision").first()).sort("source")
    per_source = {s.spec.name: len(s.records) for s in loaded} or dict(zip(counts["source"], counts["len"]))
    revisions = {s.spec.name: s.revision for s in loaded} or dict(zip(counts["source"], counts["source_revision"]))
    return FunnelResult(kept=kept, rejected=all_rejected, funnel=funnel, rows_in=rows_in, source_rows_in=per_source,
                        source_revisions=revisions, eval_set_sizes=dict(index.sizes))


def filter_rows(rows: pl.DataFrame, quarantined: pl.DataFrame, config: FunnelConfig,
                loaded: Sequence[SourceRows] = ()) -> FunnelResult:
    """Run the filter chain on normalized ``rows``; ``quarantined`` are the read-time rejects."""
    funnel, rows_in, index = start_funnel(rows, quarantined, config)
    kept, rejected, funnel = run_steps(rows, build_steps(config, index), funnel)
    return finish_funnel(kept.select(list(SCHEMA)), rejected, quarantined, rows, funnel, rows_in, index, loaded)


def source_breakdown(result: FunnelResult) -> pl.DataFrame:
    """Per source: rows in, kept, and rejected per reason (wide)."""
    kept = result.kept.group_by("source").len().rename({"len": "kept"})
    rej = result.rejected.group_by("source", "reason").len().pivot(on="reason", index="source", values="len")
    ins = pl.DataFrame({"source": list(result.source_rows_in), "rows_in": list(result.source_rows_in.values())},
                       schema={"source": pl.Utf8, "rows_in": pl.Int64})
    out = ins.join(kept, on="source", how="left").join(rej, on="source", how="left").fill_null(0)
    return out.sort("source")
