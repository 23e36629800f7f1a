"""A tiny two-config, two-split dataset spec and its tables, shared by the release tests."""

from __future__ import annotations

import polars as pl

from pipelines.release.spec import ConfigSpec, DatasetSpec, SourceInfo, SplitSpec

CITATIONS = {"toy": "@misc{toy2026, title={Toy}, year={2026}}", "alpha": "@misc{alpha, title={Alpha}, year={2020}}"}


def toy_spec(**overrides) -> DatasetSpec:
    fields = dict(
        name="toy",
        pretty_name="Toy problems",
        description="A toy dataset for release tests.",
        configs=(
            ConfigSpec("default", "toy_kept", (SplitSpec("train", lambda: ~pl.col("id").str.ends_with("9")),
                                               SplitSpec("test", lambda: pl.col("id").str.ends_with("9"))),
                       ("id", "problem", "answer", "options", "score", "flag", "source"), default=True),
            ConfigSpec("funnel", "toy_funnel", (SplitSpec("train"),)),
        ),
        id_column="id",
        version="1.0.0",
        source_column="source",
        revision_column=None,
        sources=lambda profile: [SourceInfo("alpha", "MIT", "alpha files", ("alpha",)),
                                 SourceInfo("beta", "Apache-2.0", "beta files"),
                                 SourceInfo("gamma", "CC-BY-4.0", "gamma files (all rejected)")],
        citations=CITATIONS,
        cite_as=("toy",),
        task_categories=("question-answering",),
        stats={"funnel": "toy_funnel"},
    )
    fields.update(overrides)
    return DatasetSpec(**fields)


def toy_kept(n: int = 10) -> pl.DataFrame:
    return pl.DataFrame({
        "id": [f"id{i:02d}" for i in range(n)][::-1],  # unsorted on purpose: the builder sorts
        "problem": [f"What is {i} + 1? ü" for i in range(n)][::-1],
        "answer": [str(i + 1) for i in range(n)][::-1],
        "options": [[] if i % 3 else ["A) 1", "B) 2"] for i in range(n)][::-1],
        "score": [i / 4 for i in range(n)][::-1],
        "flag": [None if i % 2 else True for i in range(n)][::-1],
        "source": ["alpha" if i % 2 else "beta" for i in range(n)][::-1],
        "unpublished": ["x"] * n,
    }, schema={"id": pl.Utf8, "problem": pl.Utf8, "answer": pl.Utf8, "options": pl.List(pl.Utf8),
               "score": pl.Float64, "flag": pl.Boolean, "source": pl.Utf8, "unpublished": pl.Utf8})


def toy_funnel(kept: int = 10) -> pl.DataFrame:
    return pl.DataFrame({"id": ["s1", "s2"], "step": ["read", "dedup"], "rows_in": [kept + 3, kept + 3],
                         "rows_kept": [kept + 3, kept], "rows_rejected": [0, 3], "reason": [None, "duplicate"],
                         "count": [0, 3]})


def toy_frames(n: int = 10) -> dict[str, pl.DataFrame]:
    return {"toy_kept": toy_kept(n), "toy_funnel": toy_funnel(n)}


def toy_suites() -> dict:
    """The toy dataset's family suites, for ``validators.release.FAMILY_SUITES`` (every released
    config needs one, or the release gate fails)."""

    def default(profile) -> list:
        import great_expectations as gx

        E = gx.expectations
        return [E.ExpectColumnValuesToNotBeNull(column="problem"), E.ExpectColumnValuesToMatchRegex(column="answer", regex=r"^\d+$")]

    def funnel(profile) -> list:
        import great_expectations as gx

        return [gx.expectations.ExpectColumnValuesToBeBetween(column="rows_kept", min_value=0)]

    return {"toy/default": default, "toy/funnel": funnel}


def register_toy_suites(monkeypatch) -> None:
    from validators.release import FAMILY_SUITES

    for key, suite in toy_suites().items():
        monkeypatch.setitem(FAMILY_SUITES, key, suite)


def break_croissant(monkeypatch):
    """Builds write a croissant.json whose first field points at a file set that does not exist (the
    manifest still verifies: the file is hashed as written)."""
    import pipelines.release.build as build

    real = build.croissant

    def broken(**kw):
        doc = real(**kw)
        doc["recordSet"][0]["field"][0]["source"]["fileSet"]["@id"] = "no_such_files"
        return doc

    monkeypatch.setattr(build, "croissant", broken)
