"""Episode conversion on the engine: reading and laying out episodes (HDF5, Parquet and TFRecord
decoding, PNG encoding, the steps table) run as engine batch tasks, one task per unit of the source.

What crosses the task boundary: in, one row per task naming the format, the path or URI of the
unit (a Minari dataset or a share of its episodes, a D4RL file, a pickle, an RLDS shard, a
LeRobot dataset) and the reader's options; out, one row per task with, per item in reader order,
the episodes-table row of a readable episode or the quarantine record of one that is not
(pickled, small), and the steps-table rows of its episodes as Arrow IPC. Each task reads its own
files, so on a cluster the units must be reachable from every worker: URIs (``s3://``) or a
shared filesystem. The driver then dedups and checks all episodes of the source at once
(:func:`pipelines.episodes.convert.standardize_laid_out`), in task order, which is the order of
the reader alone: the same standard tables on every engine. A file or episode a reader cannot
read is one quarantined item, as before; a task whose reader fails outright is one quarantined
item for its unit (``read_source``'s last resort).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.core import storage
from pipelines.engine import Engine
from pipelines.episodes.convert import Standardized, standardize_laid_out
from pipelines.episodes.readers import READERS, RLDSLayoutError, minari_dataset_dirs, read_source, rlds_version_dirs
from pipelines.episodes.schema import STEP_SCHEMA, Quarantined, episode_row, step_frame

TASK_SCHEMA = {"format": pl.Utf8, "path": pl.Utf8, "options": pl.Utf8, "episodes": pl.List(pl.Int64)}
RESULT_SCHEMA = {"records": pl.Binary, "steps": pl.Binary, "layout_error": pl.Utf8}
STEP_INDEX = "__episode"  # which of the task's readable episodes a step row belongs to


def _task(fmt: str, path, options: dict, episodes: list[int] | None = None) -> dict:
    return {"format": fmt, "path": str(path), "options": json.dumps(options, sort_keys=True), "episodes": episodes}


def _minari_episode_indices(dataset: Path) -> list[int] | None:
    """The dataset's own episode indices (not assumed 0..n-1: a share must never miss one)."""
    try:
        import minari

        from pipelines.episodes.readers import _minari_data_dir

        return [int(i) for i in minari.MinariDataset(_minari_data_dir(dataset)).episode_indices.tolist()]
    except Exception:  # noqa: BLE001 - unopenable: the dataset is one task and its reader reports the problem
        return None


def plan_tasks(fmt: str, path: str | Path, options: dict | None = None, episodes_per_task: int = 0) -> pl.DataFrame:
    """The tasks that read ``path`` as the reader alone would, in the reader's order.

    Local paths are split: Minari per dataset (and per ``episodes_per_task`` episodes when > 0), D4RL
    HDF5 and D5RL pickles per file, RLDS per shard; a LeRobot dataset is one task (an episode may
    span its data files). A URI is split per file for D4RL HDF5 and per shard for an RLDS version
    directory; other URIs are one task. Anything the planner cannot see into is one task, and the
    reader reports it."""
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(READERS)}")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    one = [_task(fmt, path, options)]
    if storage.is_uri(path):
        tasks = _plan_uri(fmt, str(path), options) or one
    else:
        tasks = _plan_local(fmt, Path(path), options, episodes_per_task) or one
    return pl.DataFrame(tasks, schema=TASK_SCHEMA, orient="row")


def _plan_local(fmt: str, path: Path, options: dict, episodes_per_task: int) -> list[dict]:
    if fmt == "minari":
        single = (path / "data" / "metadata.json").exists() or (path / "metadata.json").exists()
        dirs = [path] if single else minari_dataset_dirs(path)
        # a directory of several: the reader names each dataset's source itself (source= applies to one)
        opts = options if single else {k: v for k, v in options.items() if k != "source"}
        tasks = []
        for d in dirs:
            indices = _minari_episode_indices(d) if episodes_per_task > 0 else None
            if not indices:
                tasks.append(_task(fmt, d, opts))
                continue
            for start in range(0, len(indices), episodes_per_task):
                tasks.append(_task(fmt, d, opts, indices[start:start + episodes_per_task]))
        return tasks
    if fmt == "d4rl-hdf5" and path.is_dir():
        files = sorted([*path.rglob("*.hdf5"), *path.rglob("*.h5")])
        return [_task(fmt, f, options) for f in files]
    if fmt == "d5rl-pickle" and path.is_dir():
        files = sorted([*path.rglob("*.pkl"), *path.rglob("*.pickle")])
        opts = {**options, "source": options.get("source") or path.name}  # the reader's default for a directory
        return [_task(fmt, f, opts) for f in files]
    if fmt == "rlds" and path.is_dir():
        dirs = rlds_version_dirs(path)
        if len(dirs) != 1 or not (dirs[0] / "features.json").exists():
            return []  # refused or reported by the reader, as one task
        shards = sorted(p for p in dirs[0].iterdir() if p.is_file() and ".tfrecord" in p.name)
        return [_task(fmt, s, options) for s in shards]
    return []


def _plan_uri(fmt: str, uri: str, options: dict) -> list[dict]:
    if fmt == "d4rl-hdf5" and storage.is_dir(uri):
        files = sorted([*storage.list_files(uri, "**/*.hdf5"), *storage.list_files(uri, "**/*.h5")])
        return [_task(fmt, f, options) for f in files]
    if fmt == "rlds" and storage.is_dir(uri) and storage.exists(storage.join(uri, "dataset_info.json")):
        shards = [f for f in storage.list_files(uri, "*") if ".tfrecord" in storage.name_of(f)]
        return [_task(fmt, s, options) for s in shards]
    return []


def convert_batch(tasks: pl.DataFrame) -> pl.DataFrame:
    """The batch function: read every task's unit and lay its episodes out (one row per task).

    ``records``: per item in reader order, the episodes-table row of a readable episode or the
    quarantine record of one that is not (pickled: plain dicts and dataclasses, small). ``steps``:
    the steps-table rows of the task's readable episodes in that order, tagged with
    :data:`STEP_INDEX`, as Arrow IPC (the arrays and images never travel as Python objects)."""
    import io

    rows = []
    for t in tasks.iter_rows(named=True):
        options = json.loads(t["options"])
        if t["episodes"] is not None:
            options["episodes"] = list(t["episodes"])
        try:
            items, error = read_source(t["format"], t["path"], **options), None
        except RLDSLayoutError as exc:  # a usage error: raised again on the driver, not quarantined
            items, error = [], str(exc)
        records, frames = [], []
        for item in items:
            if isinstance(item, Quarantined):
                records.append(item)
            else:
                records.append(episode_row(item))
                frames.append(step_frame(item).with_columns(pl.lit(len(frames), dtype=pl.Int64).alias(STEP_INDEX)))
        buf = io.BytesIO()
        (pl.concat(frames) if frames else pl.DataFrame(schema={**STEP_SCHEMA, STEP_INDEX: pl.Int64})).write_ipc(buf)
        rows.append({"records": pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL), "steps": buf.getvalue(),
                     "layout_error": error})
    return pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row")


@dataclass
class LaidOut:
    """What the tasks sent back, in task order: :func:`standardize_laid_out`'s inputs."""

    rows: list[dict] = field(default_factory=list)
    steps: list[pl.DataFrame] = field(default_factory=list)
    bad: list[Quarantined] = field(default_factory=list)
    items_in: int = 0

    def standardize(self) -> Standardized:
        return standardize_laid_out(self.rows, self.steps, self.bad, self.items_in)


def convert_on_engine(fmt: str, path: str | Path, engine: Engine, *, episodes_per_task: int = 0,
                      into: LaidOut | None = None, **options) -> LaidOut:
    """Read and lay out ``path`` as engine tasks; ``.standardize()`` gives exactly what
    ``standardize(read_source(fmt, path, **options))`` gives. ``into``: add to an earlier result
    (several paths of one source)."""
    import io

    out = into if into is not None else LaidOut()
    tasks = plan_tasks(fmt, path, options, episodes_per_task)
    (done,) = engine.map_batches(convert_batch, [tasks], batch_rows=1)  # one task per unit
    for blob, steps, error in done.iter_rows():
        if error is not None:
            raise RLDSLayoutError(error)
        # our own workers' output, written by convert_batch above (never a user file): plain pickle is fine
        records = pickle.loads(blob)
        frame = pl.read_ipc(io.BytesIO(steps))
        by_episode = {k: part.drop(STEP_INDEX) for (k,), part in frame.partition_by(STEP_INDEX, as_dict=True).items()}
        k = 0
        for record in records:
            if isinstance(record, Quarantined):
                out.bad.append(record)
            else:
                out.rows.append(record)
                out.steps.append(by_episode[k])
                k += 1
        out.items_in += len(records)
    return out
