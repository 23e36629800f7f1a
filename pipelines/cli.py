"""``foundry``: what users do outside the UI.

Each family package may have a ``cli`` module exposing ``group`` (a ``click.Group``); it becomes
``foundry <family> ...``. The command never imports Dagster; ``foundry materialize`` runs the
``dagster`` command for the main job.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click

import pipelines


@click.group()
@click.version_option(pipelines.__version__, prog_name="foundry")
def main() -> None:
    """Reasoning-data foundry: build, check and publish reasoning datasets."""


def _register_families() -> None:
    for info in sorted(pkgutil.iter_modules(pipelines.__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        try:
            mod = importlib.import_module(f"pipelines.{info.name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name == f"pipelines.{info.name}.cli":
                continue
            raise
        group = getattr(mod, "group", None)
        if isinstance(group, click.Command):
            main.add_command(group)


@main.command()
@click.option("--job", default="foundry_all", show_default=True, help="Dagster job to run.")
def materialize(job: str) -> None:
    """Materialize every asset (the main job) on the active profile, in the Dagster instance."""
    from pipelines.config import REPO_ROOT

    env = {**os.environ}
    env.setdefault("DAGSTER_HOME", str(REPO_ROOT))
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "job", "execute", "-m", "assets.definitions", "-j", job]
    raise SystemExit(subprocess.call(cmd, env=env, cwd=str(REPO_ROOT)))


@main.command()
@click.option("--data-root", default=None, help="Data root (default: the profile's).")
def summary(data_root: str | None) -> None:
    """Print the tables of the DuckDB warehouse and their row counts."""
    import duckdb

    from pipelines.config import get_profile

    db = get_profile(data_root=data_root).data_root / "foundry.duckdb"
    if not db.exists():
        raise click.ClickException(f"{db} does not exist yet; run `make run` (or `foundry materialize`) first")
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1").fetchall()]
        click.echo(f"{db}")
        for v in views:
            n = con.execute(f'SELECT count(*) FROM "{v}"').fetchone()[0]
            click.echo(f"  {v:<40} {n:>10,} rows")
    finally:
        con.close()


@main.command()
@click.argument("sql")
@click.option("--data-root", default=None, help="Data root (default: the profile's).")
@click.option("--limit", default=50, show_default=True, help="Rows to print at most.")
def query(sql: str, data_root: str | None, limit: int) -> None:
    """Run SQL against the warehouse (every asset is a view), e.g. "select * from bigmath_funnel"."""
    import duckdb
    import polars as pl

    from pipelines.config import get_profile

    db = get_profile(data_root=data_root).data_root / "foundry.duckdb"
    if not db.exists():
        raise click.ClickException(f"{db} does not exist yet; run `make run` (or `foundry materialize`) first")
    con = duckdb.connect(str(db), read_only=True)
    try:
        result = con.execute(sql)
        rows = result.fetchall()  # plain rows: the same call on DuckDB 1.x and 2.x
        frame = pl.DataFrame(rows, schema=[d[0] for d in result.description], orient="row")
    except duckdb.Error as exc:
        raise click.ClickException(f"query failed: {exc}") from exc
    finally:
        con.close()
    with pl.Config(tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
        click.echo(frame.head(limit))


_register_families()
main.add_command(importlib.import_module("pipelines.bigmath.lock").sources)  # `foundry sources lock|show`

if __name__ == "__main__":
    main()
