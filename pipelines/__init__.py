"""Framework-free steps of the reasoning-data foundry.

Nothing under this package imports Dagster: steps take and return Polars data and account for
every row they drop (see :mod:`pipelines.core.steps`).
"""

__version__ = "0.1.0"
