"""Versioned, Hub-ready releases of the foundry's datasets.

A release is a directory that ``datasets.load_dataset(<dir>)`` reads as is: ``README.md`` (the card,
YAML front matter + body rendered from ``dataset_cards/<dataset>.md.jinja``), Parquet shards under
``data/<config>/<split>-XXXXX-of-YYYYY.parquet``, ``croissant.json``, ``CHANGELOG.md`` and
``manifest.json`` (SHA-256 and row count of every other file, provenance, versions).

Which datasets exist is declared in :mod:`pipelines.release.registry`; nothing here imports Dagster.
"""
