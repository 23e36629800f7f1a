"""Dagster wiring of the foundry: thin assets over ``pipelines`` steps, one module per family."""
