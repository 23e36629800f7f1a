"""Build a release directory from asset tables: shards, card, Croissant, changelog, manifest.

Determinism: rows are sorted by the spec's key before sharding; shards are written by pyarrow with
fixed settings; JSON is canonical; the card and plot derive from the same tables. ``build_time`` is
the only clock value and it is pinned: ``SOURCE_DATE_EPOCH`` when set, else the time this version
was first built (kept in the ledger), so rebuilding a version gives byte-identical files. It is
never part of ``content_hash``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import pipelines
from pipelines.core.io import atomic_write_text
from pipelines.release import card as cards
from pipelines.release.croissant import croissant, croissant_text
from pipelines.release.manifest import FORMAT, MANIFEST, content_hash, file_entry, manifest_text, read_manifest
from pipelines.release.spec import DatasetSpec, Frames, SourceInfo
from pipelines.release.versions import Ledger, ReleaseRefused, changelog_markdown, check_new_version, row_index

FUNNEL_PLOT = "images/funnel.png"


@dataclass
class ReleaseResult:
    directory: Path
    manifest: dict
    reproduced: bool  # this version existed in the ledger with the same rows
    changelog: pl.DataFrame | None

    @property
    def rows(self) -> dict[str, int]:
        """Rows per ``config/split``."""
        return _rows_by_split(self.manifest)


def _rows_by_split(manifest: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in manifest["files"]:
        if f.get("kind") == "data":
            key = f"{f['config']}/{f['split']}"
            out[key] = out.get(key, 0) + f["rows"]
    return out


# ------------------------------------------------------------------ tables and shards


def split_tables(spec: DatasetSpec, frames: Frames) -> dict[tuple[str, str], pl.DataFrame]:
    """The rows of every (config, split): published columns, filtered, sorted by the spec's key."""
    out = {}
    for cfg in spec.configs:
        if cfg.asset not in frames:
            raise KeyError(f"dataset {spec.name!r}: config {cfg.name!r} needs asset table {cfg.asset!r}, "
                           f"which was not given (materialize it first)")
        frame = frames[cfg.asset]
        columns = list(cfg.columns) or list(frame.columns)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise KeyError(f"dataset {spec.name!r}: asset {cfg.asset!r} lacks published columns {missing}")
        frame = frame.select(columns)
        for split in cfg.splits:
            part = frame.filter(split.where()) if split.where else frame
            order = [c for c in spec.order_of(cfg) if c in part.columns]
            out[(cfg.name, split.name)] = part.sort(order, nulls_last=True, maintain_order=True) if order else part
    return out


def _plain_type(t: pa.DataType) -> pa.DataType:
    """large_string -> string, large_list -> list (what datasets and the Hub viewer expect)."""
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(_plain_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _plain_type(f.type), f.nullable) for f in t])
    return t


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    table = frame.to_arrow()
    schema = pa.schema([pa.field(f.name, _plain_type(f.type), True) for f in table.schema])
    return table.cast(schema)


def features_of(table: pa.Table):
    import datasets

    return datasets.Features.from_arrow_schema(table.schema)


def shard_count(table: pa.Table, max_rows: int, max_bytes: int) -> int:
    if table.num_rows == 0:
        return 1
    return max(1, math.ceil(table.num_rows / max_rows), math.ceil(table.nbytes / max_bytes))


def write_shards(table: pa.Table, directory: Path, split: str, max_rows: int, max_bytes: int) -> list[Path]:
    """``<split>-XXXXX-of-YYYYY.parquet``: contiguous, near-equal slices of the sorted table."""
    n = shard_count(table, max_rows, max_bytes)
    features = features_of(table)
    meta = {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}, sort_keys=True).encode()}
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    size = math.ceil(table.num_rows / n) if table.num_rows else 0
    for i in range(n):
        part = table.slice(i * size, size) if table.num_rows else table
        part = part.replace_schema_metadata(meta)
        path = directory / f"{split}-{i:05d}-of-{n:05d}.parquet"
        pq.write_table(part, path, compression="zstd", compression_level=3, use_dictionary=True,
                       write_statistics=True, row_group_size=10_000)
        paths.append(path)
    return paths


# ------------------------------------------------------------------ provenance


def _distinct(frames: Frames, column: str) -> list[str]:
    values: set[str] = set()
    for frame in frames.values():
        if column in frame.columns:
            values.update(str(v) for v in frame.get_column(column).drop_nulls().unique().to_list())
    return sorted(values)


def source_table(spec: DatasetSpec, sources: list[SourceInfo], tables: dict, frames: Frames) -> list[dict]:
    """Per source: license, origin, revision, published rows, rows in and rejected (when known)."""
    col = spec.source_column
    published: dict[str, int] = {}
    revisions: dict[str, set] = {}
    for frame in tables.values():
        if col and col in frame.columns:
            for name, n in frame.group_by(col).len().iter_rows():
                published[str(name)] = published.get(str(name), 0) + n
            if spec.revision_column and spec.revision_column in frame.columns:
                for name, rev in frame.select(col, spec.revision_column).unique().iter_rows():
                    revisions.setdefault(str(name), set()).add(str(rev))
    rejected = frames.get(spec.stats.get("rejected", ""), None)
    rej: dict[str, int] = {}
    reasons: dict[str, dict[str, int]] = {}
    if rejected is not None and col and col in rejected.columns:
        for name, n in rejected.group_by(col).len().iter_rows():
            rej[str(name)] = n
            if spec.revision_column and spec.revision_column in rejected.columns:
                for rev in rejected.filter(pl.col(col) == name).get_column(spec.revision_column).unique().to_list():
                    revisions.setdefault(str(name), set()).add(str(rev))
        if "reason" in rejected.columns:
            for name, reason, n in rejected.group_by(col, "reason").len().sort(col, "len", descending=[False, True]).iter_rows():
                reasons.setdefault(str(name), {})[str(reason)] = n
    known = {s.name: s for s in sources}
    if not (col and any(col in f.columns for f in tables.values())) and len(known) == 1:
        published[next(iter(known))] = sum(f.height for f in tables.values())  # one declared source: every row
    names = list(known) + sorted(set(published) - set(known))
    rows = []
    for name in names:
        info = known.get(name, SourceInfo(name, "unknown", "not declared in the profile"))
        kept = published.get(name, 0)
        rows.append({"name": name, "license": info.license, "origin": info.origin, "citations": list(info.citations),
                     "revision": ", ".join(sorted(revisions.get(name, []))) or "-", "rows": kept,
                     "rows_in": kept + rej.get(name, 0) if rejected is not None else None,
                     "rejected": rej.get(name, 0) if rejected is not None else None,
                     "reasons": reasons.get(name, {})})
    return rows


def _build_time(version_first_built: str | None) -> tuple[str, str]:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "SOURCE_DATE_EPOCH"
    # one label for both cases: the first build and its rebuilds must write the same bytes
    label = "clock at the first build of this version (kept in the ledger)"
    if version_first_built:
        return version_first_built, label
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), label


# ------------------------------------------------------------------ build


def build_release(spec: DatasetSpec, frames: Frames, version: str, out_dir: str | Path, *,
                  ledger_dir: str | Path, profile=None, sources: list[SourceInfo] | None = None,
                  repo_id: str | None = None, cards_dir: str | Path | None = None) -> ReleaseResult:
    """Lay out ``out_dir`` as the Hub-ready release ``version`` of ``spec`` from ``frames``.

    Refused (:class:`ReleaseRefused`) when the version rules say no or ``out_dir`` holds another
    release. The directory is assembled beside ``out_dir`` and swapped in at the end.
    """
    out_dir = Path(out_dir)
    ledger = Ledger(ledger_dir, spec.name)
    if sources is None:
        sources = spec.sources(profile) if profile is not None else []
    tables = split_tables(spec, frames)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        return _build(spec, frames, tables, version, out_dir, stage, ledger, sources, repo_id, cards_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _build(spec, frames, tables, version, out_dir, stage, ledger, sources, repo_id, cards_dir) -> ReleaseResult:
    files: list[dict] = []
    configs: list[dict] = []
    index_parts = []
    total_rows = 0
    for cfg in spec.configs:
        entry = {"name": cfg.name, "default": cfg is spec.default_config(), "splits": [], "features": {},
                 "download_size": 0}
        for split in cfg.splits:
            frame = tables[(cfg.name, split.name)]
            table = to_arrow(frame)
            feats = features_of(table)
            entry["features"] = feats.to_dict()
            paths = write_shards(table, stage / "data" / cfg.name, split.name, spec.max_shard_rows, spec.max_shard_bytes)
            for p in paths:
                rows = pq.ParquetFile(p).metadata.num_rows
                files.append(file_entry(stage, p, "data", rows=rows, config=cfg.name, split=split.name))
            entry["splits"].append({"name": split.name, "pattern": f"data/{cfg.name}/{split.name}-*.parquet",
                                    "rows": table.num_rows, "num_bytes": table.nbytes, "shards": len(paths)})
            entry["download_size"] += sum(f["bytes"] for f in files if f.get("config") == cfg.name and f.get("split") == split.name)
            total_rows += table.num_rows
            index_parts.append(row_index(frame, cfg.name, split.name, spec.id_of(cfg), spec.source_column))
        configs.append(entry)
    rows = pl.concat(index_parts) if index_parts else None
    data_hash = content_hash(files)
    features = {c["name"]: {"features": c["features"], "splits": [s["name"] for s in c["splits"]]} for c in configs}

    existing, previous, change = check_new_version(ledger, version, data_hash, features, rows)
    _check_out_dir(out_dir, spec.name, version, data_hash)
    build_time, build_time_source = _build_time(existing.first_built if existing else None)

    source_rows = source_table(spec, sources, tables, frames)
    licenses = sorted({cards.hub_license(s["license"]) for s in source_rows if s["rows"]}) or ["unknown"]
    cite_keys = list(spec.cite_as) + [k for s in source_rows if s["rows"] for k in s["citations"]]
    citations = [spec.citations[k] for k in dict.fromkeys(cite_keys) if k in spec.citations]
    funnel = frames.get(spec.stats.get("funnel", ""), None)
    plot = None
    if funnel is not None and funnel.height:
        from pipelines.core.plots import funnel_plot

        plot = funnel_plot(funnel, stage / FUNNEL_PLOT, f"{spec.pretty_name} funnel")
        files.append(file_entry(stage, plot, "image"))
    provenance = {
        "code_version": pipelines.__version__,
        "row_code_versions": _distinct(tables, spec.code_version_column),
        "prompt_hashes": _distinct(frames, spec.prompt_hash_column),
        "model_ids": _distinct(frames, spec.model_id_column),
        "source_datasets": [{"name": s["name"], "revision": s["revision"], "license": s["license"],
                             "origin": s["origin"], "rows": s["rows"]} for s in source_rows],
    }
    notes = []
    changelog_text = changelog_markdown(spec.name, version, previous.version if previous else None, change, notes)
    atomic_write_text(changelog_text, stage / "CHANGELOG.md")

    context = {
        "spec": spec, "version": version, "pretty_name": spec.pretty_name, "description": spec.description,
        "front_matter": cards.front_matter(pretty_name=spec.pretty_name, licenses=licenses, language=list(spec.language),
                                           task_categories=list(spec.task_categories), tags=list(spec.tags),
                                           total_rows=total_rows, configs=configs),
        "configs": configs, "total_rows": total_rows, "sources": source_rows, "licenses": licenses,
        "funnel": funnel.to_dicts() if funnel is not None else None, "funnel_plot": FUNNEL_PLOT if plot else None,
        "citations": citations, "changelog": changelog_text.split("\n", 2)[2].strip(),
        "previous_version": previous.version if previous else None, "provenance": provenance,
        "build_time": build_time, "repo_id": repo_id or f"<org>/{spec.name}", "content_hash": data_hash,
    }
    readme = cards.render_card(spec.template_name, context, cards_dir)
    atomic_write_text(readme, stage / "README.md")
    files.append(file_entry(stage, stage / "CHANGELOG.md", "changelog"))
    files.append(file_entry(stage, stage / "README.md", "card"))

    shards = [f for f in files if f["kind"] == "data"]
    doc = croissant(name=spec.name, description=spec.description, version=version, licenses=licenses,
                    url=f"https://huggingface.co/datasets/{repo_id}" if repo_id else f"https://huggingface.co/datasets/{spec.name}",
                    date_published=build_time[:10], cite_as=citations[0] if citations else spec.pretty_name,
                    shards=shards, configs=[{"name": c["name"], "splits": [s["name"] for s in c["splits"]],
                                             "features": c["features"]} for c in configs])
    atomic_write_text(croissant_text(doc), stage / "croissant.json")
    files.append(file_entry(stage, stage / "croissant.json", "croissant"))

    manifest = {
        "format": FORMAT, "dataset": spec.name, "pretty_name": spec.pretty_name, "version": version,
        "content_hash": data_hash, "files": sorted(files, key=lambda f: f["path"]),
        "configs": {c["name"]: {s["name"]: {"rows": s["rows"], "shards": s["shards"]} for s in c["splits"]} for c in configs},
        "rows": total_rows, "licenses": licenses, **provenance,
        "previous_version": previous.version if previous else None,
        "build_time": build_time, "build_time_source": build_time_source,
    }
    atomic_write_text(manifest_text(manifest), stage / MANIFEST)
    _swap_in(stage, out_dir)
    if existing is None:
        ledger.record(version, data_hash, features, build_time, rows)
    return ReleaseResult(out_dir, manifest, existing is not None, change)


def _check_out_dir(out_dir: Path, dataset: str, version: str, data_hash: str) -> None:
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    try:
        old = read_manifest(out_dir)
    except (FileNotFoundError, json.JSONDecodeError):
        raise ReleaseRefused(f"{out_dir} exists and is not a release directory (no readable {MANIFEST}); "
                             f"choose an empty or new --out") from None
    if old.get("dataset") != dataset:
        raise ReleaseRefused(f"{out_dir} holds a release of {old.get('dataset')!r}, not {dataset!r}; choose another --out")
    if old.get("version") == version and old.get("content_hash") != data_hash:
        raise ReleaseRefused(f"{out_dir} holds {dataset} {version} with different content "
                             f"({old.get('content_hash', '')[:12]} != {data_hash[:12]}); a released version "
                             f"never changes: build a new version into a new directory")


def _swap_in(stage: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by the assembled ``stage`` (old copy removed only after the rename)."""
    final = stage
    os.chmod(final, 0o755)  # mkdtemp/mkstemp make things private; a release is read by others
    for p in final.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    if out_dir.exists():
        trash = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(out_dir, trash)
        os.replace(final, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(final, out_dir)
