"""The Big-Math recipe: the sources that made the published Big-Math, and the evaluation sets.

Big-Math (Albalak et al. 2025, arXiv:2502.17387; ``SynthLabsAI/Big-Math-RL-Verified``, 251,122
rows) keeps, per source: Orca-Math 83,215, cn_k12 63,609, olympiads 33,485, MATH 9,257,
aops_forum 5,740, GSM8k 3,254, HARP 2,996, Omni-MATH 2,478, amc_aime 78, plus 47,010
Big-Math-Reformulated rows (multiple-choice problems rewritten as open-ended ones). The ``full``
profile reads the same sources; ``paper_kept`` is the paper's count, to compare ours against.

Every Hub source is pinned: ``hf_revision`` comes from the lock file (``sources.lock.json``,
written by ``foundry sources lock``); a source without one refuses to load. ``confirmed`` says
what was checked against the Hub's dataset card when this table was written and what was not:
an unconfirmed id or column is a best reading, to check when the lock is first resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from pipelines.bigmath.sources import HubEvalSet, SourceSpec

NUMINA = "AI-MO/NuminaMath-CoT"


@dataclass(frozen=True)
class RecipeSource:
    spec: SourceSpec
    paper_kept: int | None     # rows of this source in the published Big-Math
    feeds_reformulation: bool  # its multiple-choice rejects go to Big-Math-Reformulated
    confirmed: str             # what was checked of id/config/split/columns, and what was not


def _numina(name: str, kept: int, note: str = "") -> RecipeSource:
    # NuminaMath-CoT: columns source, problem, solution, messages; the answer is the solution's last box
    spec = SourceSpec(name, hf_id=NUMINA, hf_split="train", where=(("source", name),),
                      fields={"problem": "problem", "solution": "solution"}, answer_from="boxed",
                      license="Apache-2.0", origin=f"{NUMINA} (source={name})")
    return RecipeSource(spec, kept, True, "id, split, columns and source value confirmed (dataset card)" + note)


BIGMATH_RECIPE: tuple[RecipeSource, ...] = (
    _numina("orca_math", 83_215, "; the paper's Orca-Math count matches NuminaMath's orca_math subset, "
                                 "not microsoft/orca-math-word-problems-200k (unconfirmed which was read)"),
    _numina("cn_k12", 63_609),
    _numina("olympiads", 33_485),
    RecipeSource(SourceSpec("math", hf_id="DigitalLearningGmbH/MATH-lighteval", hf_split="train+test",
                            fields={"problem": "problem", "solution": "solution"}, answer_from="boxed",
                            license="MIT", origin="Hendrycks MATH (hendrycks/competition_math is no longer served)"),
                 9_257, True,
                 "mirror of Hendrycks MATH (columns problem, level, type, solution) unconfirmed against the paper; "
                 "train+test because 9,257 kept > 7,500 train rows; MATH-500 test rows are then removed as contaminated"),
    _numina("aops_forum", 5_740),
    RecipeSource(SourceSpec("gsm8k", hf_id="openai/gsm8k", hf_config="main", hf_split="train",
                            fields={"problem": "question", "answer": "answer"}, answer_from="gsm8k", license="MIT",
                            origin="openai/grade-school-math train"),
                 3_254, False, "id, config, split and columns confirmed; the test split is an evaluation set"),
    RecipeSource(SourceSpec("harp", files=("data/full/harp/HARP.jsonl",),
                            fields={"problem": "problem", "answer": "answer", "solution": "solution_1"},
                            answer_from="column", license="MIT", origin="github.com/aadityasingh/HARP (HARP.jsonl)"),
                 2_996, True,
                 "no Hub id confirmed: HARP ships as JSONL in github.com/aadityasingh/HARP; put HARP.jsonl at "
                 "data/full/harp/ (pinned by its sha256); columns as in the sample's harp_proofs.jsonl"),
    RecipeSource(SourceSpec("omni_math", hf_id="KbsdJames/Omni-MATH", hf_split="test",
                            fields={"problem": "problem", "answer": "answer", "solution": "solution"},
                            answer_from="column", license="Apache-2.0", origin="KbsdJames/Omni-MATH"),
                 2_478, False, "id confirmed (dataset card); split and columns (domain, difficulty, problem, "
                               "solution, answer, source) from the card's loader; `test` is its only split (public loaders)"),
    _numina("amc_aime", 78, "; most amc_aime rows are AMC multiple choice, hence 78 kept"),
)

# Sources read only to feed the reformulation (none beyond the recipe's own multiple-choice
# rejects, which is what the paper reformulated); kept as a named tuple so a profile can add one.
REFORMULATION_ONLY_SOURCES: tuple[SourceSpec, ...] = ()
PAPER_REFORMULATED = 47_010
PAPER_TOTAL = 251_122


@dataclass(frozen=True)
class RecipeEvalSet:
    eval_set: HubEvalSet
    confirmed: str


def _eval(name: str, hf_id: str, split: str, column: str, confirmed: str, config: str | None = None) -> RecipeEvalSet:
    spec = SourceSpec(name, hf_id=hf_id, hf_config=config, hf_split=split, fields={"problem": column},
                      license="see dataset card", origin=hf_id)
    return RecipeEvalSet(HubEvalSet(name, spec), confirmed)


EVAL_RECIPE: tuple[RecipeEvalSet, ...] = (
    _eval("math500", "HuggingFaceH4/MATH-500", "test", "problem", "id, split, column confirmed"),
    _eval("gsm8k_test", "openai/gsm8k", "test", "question", "id, config, split, column confirmed", config="main"),
    _eval("aime_2024", "HuggingFaceH4/aime_2024", "train", "problem", "id confirmed; train split and `problem` column as public loaders read them"),
    _eval("aime_2025", "math-ai/aime25", "test", "problem", "id, test split and `problem`/`answer` columns (card features and public loaders)"),
    _eval("amc_2023", "math-ai/amc23", "test", "question", "id, test split and `question` column as public loaders read them"),
    _eval("olympiadbench", "Hothan/OlympiadBench", "train", "question",
          "id, config, train split and `question` column as public loaders read them", config="OE_TO_maths_en_COMP"),
    _eval("minerva_ocw", "math-ai/minervamath", "test", "question", "id, test split and `question` column as public loaders read them"),
)


def hub_specs() -> list[SourceSpec]:
    """Every Hub source the recipe reads (sources, then evaluation sets)."""
    specs = [r.spec for r in BIGMATH_RECIPE] + list(REFORMULATION_ONLY_SOURCES) + [e.eval_set.source for e in EVAL_RECIPE]
    return [s for s in specs if s.kind == "hf"]


def pin(spec: SourceSpec, lock: Mapping[str, str | None]) -> SourceSpec:
    """``spec`` with its revision from the lock (unchanged when already pinned or not locked)."""
    if spec.kind != "hf" or spec.hf_revision or not lock.get(spec.hf_id):
        return spec
    return replace(spec, hf_revision=lock[spec.hf_id])


def full_sources(lock: Mapping[str, str | None]) -> tuple[SourceSpec, ...]:
    return tuple(pin(r.spec, lock) for r in BIGMATH_RECIPE) + tuple(pin(s, lock) for s in REFORMULATION_ONLY_SOURCES)


def full_eval_sets(lock: Mapping[str, str | None]) -> tuple[HubEvalSet, ...]:
    return tuple(replace(e.eval_set, source=pin(e.eval_set.source, lock)) for e in EVAL_RECIPE)
