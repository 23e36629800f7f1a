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


DEBUG_ENV = "FOUNDRY_DEBUG"


def _foreseen(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message) for the failures a user can cause and fix; None for a bug."""
    from pipelines.core.io import InputFileError
    from pipelines.core.outputs import OutputPathError
    from pipelines.llm.backends import FatalError
    from pipelines.llm.config import LLMNotConfigured, LLMSettingError

    if isinstance(exc, (OutputPathError, LLMSettingError, LLMNotConfigured)):
        return 2, str(exc)  # usage: a flag or a setting the user gave
    if isinstance(exc, FatalError):
        return 1, f"the LLM endpoint stopped the run: {exc}"
    if isinstance(exc, InputFileError):
        return 1, str(exc)
    if type(exc).__name__ == "ReleaseRefused":
        return 1, str(exc)
    if type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb"):
        return 1, f"DuckDB: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if isinstance(exc, MemoryError):
        return 1, "out of memory; give a smaller input or a machine with more memory"
    if isinstance(exc, OSError) and exc.strerror:
        return 1, f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror}"
    return None


class FoundryGroup(click.Group):
    """Every command's errors end as one sentence and an exit code: 2 usage, 1 failure.

    The traceback is printed only with ``foundry --debug ...`` (or FOUNDRY_DEBUG=1).
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        group_opts = argv[: next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))]
        debug = "--debug" in group_opts or os.environ.get(DEBUG_ENV) == "1"  # a flag of the group, before the command
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:  # UsageError: 2; ClickException: 1
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the one place every failure is turned into a sentence
            if debug:
                raise
            from pipelines.llm.redact import redact

            known = _foreseen(exc)
            if known is None:
                first = (str(exc).splitlines() or [""])[0][:300]
                known = 1, (f"unexpected {type(exc).__name__}: {first}; rerun as `foundry --debug ...` for the "
                            f"traceback and report it")
            code, message = known
            secrets = (os.environ.get("FOUNDRY_LLM_API_KEY"), os.environ.get("OPENAI_API_KEY"),
                       os.environ.get("HF_TOKEN"))
            click.echo(f"Error: {redact(message, secrets)}", err=True)
            sys.exit(code)


@click.group(cls=FoundryGroup)
@click.version_option(pipelines.__version__, prog_name="foundry")
@click.option("--debug", is_flag=True, help="Show the full traceback when a command fails.")
def main(debug: bool) -> None:
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
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=0), help="Rows to print at most.")
def query(sql: str, data_root: str | None, limit: int) -> None:
    """Run SQL against the warehouse (every asset is a view), e.g. "select * from bigmath_funnel"."""
    import duckdb
    import polars as pl

    from pipelines.config import get_profile

    if not sql.strip():
        raise click.UsageError('give a SQL statement, e.g. foundry query "select * from bigmath_funnel"')
    db = get_profile(data_root=data_root).data_root / "foundry.duckdb"
    if not db.exists():
        raise click.ClickException(f"{db} does not exist yet; run `make run` (or `foundry materialize`) first")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise click.ClickException(f"{db} is not a readable DuckDB warehouse ({str(exc).splitlines()[0]}); "
                                   f"delete it and run `make run` to rebuild it") from exc
    try:
        rel = con.sql(sql)  # lazy: nothing runs until fetched
        if rel is None:  # a statement without a result (SET, PRAGMA ...): it has run
            click.echo("ok")
            return
        limited = rel.limit(limit)  # the limit runs in DuckDB: at most `limit` rows are ever produced
        columns = limited.columns
        rows = limited.fetchall()
        frame = pl.DataFrame(rows, schema=columns, orient="row") if rows else pl.DataFrame(schema=columns)
    except duckdb.Error as exc:
        raise click.ClickException(f"query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
    with pl.Config(tbl_rows=limit, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
        click.echo(frame)


_register_families()
main.add_command(importlib.import_module("pipelines.bigmath.lock").sources)  # `foundry sources lock|show`

if __name__ == "__main__":
    main()
