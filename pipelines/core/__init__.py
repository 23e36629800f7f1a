"""The step contract, row accounting, IO and hashing shared by every family."""

from pipelines.core.steps import (
    REASON_COLUMNS,
    Funnel,
    FunnelRow,
    StepResult,
    reject_where,
    run_steps,
)

__all__ = ["REASON_COLUMNS", "Funnel", "FunnelRow", "StepResult", "reject_where", "run_steps"]
