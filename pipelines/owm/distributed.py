"""OpenWebMath behavior scoring on an engine, streamed: read a batch, score it anywhere, write it.

:func:`stream_scored_on_engine` is :func:`pipelines.owm.pipeline.stream_scored` with the scoring
(the expensive part: the detector or the classifier over every document) on the engine; at most a
window of batches is in flight, so memory stays flat however large the corpus.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator, Sequence

import polars as pl

from pipelines.engine import Engine, split_rows
from pipelines.owm.pipeline import DOC_SCHEMA, READ_REJECT_SCHEMA, score_frame
from pipelines.owm.reader import iter_batches


def score_on_engine(docs: pl.DataFrame, scorer, engine: Engine, batch_rows: int = 256) -> pl.DataFrame:
    """:func:`score_frame` on ``engine``, in batches of ``batch_rows`` documents; rows in input order."""
    out = engine.map_batches(partial(score_frame, scorer=scorer), split_rows(docs, batch_rows))
    return pl.concat(out, how="vertical")


def stream_scored_on_engine(paths: Sequence[str], scorer, engine: Engine, batch_rows: int = 256,
                            fields: dict[str, str] | None = None) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """``(scored documents, read rejects)`` per record batch of every file, in file order."""
    rejects: list[pl.DataFrame] = []

    def docs() -> Iterator[pl.DataFrame]:
        for path in paths:
            for batch in iter_batches(path, fields, batch_rows):
                rejects.append(pl.DataFrame(batch.rejected, schema=READ_REJECT_SCHEMA))
                yield pl.DataFrame(batch.kept, schema=DOC_SCHEMA)

    for scored in engine.map_stream(partial(score_frame, scorer=scorer), docs()):
        yield scored, rejects.pop(0)
