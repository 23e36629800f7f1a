"""One profile object with a section per family, each built by its family's ``for_profile``."""

import importlib
import sys

import pytest

from pipelines.bigmath import config as bigmath_config
from pipelines.bigmath.funnel import FunnelConfig
from pipelines.config import get_profile
from pipelines.countdown import config as countdown_config
from pipelines.episodes import config as episodes_config
from pipelines.fspo import config as fspo_config
from pipelines.owm import config as owm_config


def test_each_family_owns_its_section():
    p = get_profile("sample", allow_no_eval_sets=False, seed=3)
    assert isinstance(p.bigmath, FunnelConfig) and p.bigmath.sources == bigmath_config.SAMPLE_MATH_SOURCES
    assert p.countdown == countdown_config.for_profile("sample", seed=3)
    assert p.episodes == episodes_config.for_profile("sample", seed=3)
    assert p.owm == owm_config.for_profile("sample")
    assert p.fspo == fspo_config.config_for_profile("sample", seed=3)
    assert p.countdown.seed == p.episodes.collect.seed == p.seed == 3
    full = get_profile("full")
    assert full.countdown.n_problems > p.countdown.n_problems and full.episodes.collect.episodes_per_source == 100


def test_a_family_table_replaced_in_a_test_reaches_the_profile(monkeypatch):
    small = countdown_config.CountdownConfig(n_problems=10)
    monkeypatch.setitem(countdown_config.CONFIG_BY_PROFILE, "sample", small)
    assert get_profile("sample").countdown == small


def test_unknown_profile_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="must be 'sample' or 'full'"):
        get_profile("staging")


def test_environment_is_read_when_a_profile_is_built_not_at_import(monkeypatch, tmp_path):
    import pipelines.bigmath.lock as lock

    def refuse(*a, **k):
        raise AssertionError("the lock file was read")

    monkeypatch.setattr(lock, "read_lock", refuse)
    monkeypatch.setenv("FOUNDRY_PROFILE", "sample")
    for name in ("pipelines.config", "pipelines.bigmath.config"):
        monkeypatch.delitem(sys.modules, name)  # restored after the test
    cfg = importlib.import_module("pipelines.config")  # neither the lock nor the environment at import
    monkeypatch.setenv("FOUNDRY_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("FOUNDRY_VERIFY_WORKERS", "3")
    p = cfg.get_profile()
    assert p.name == "sample" and p.data_root == tmp_path.resolve() and p.bigmath.verify.workers == 3
    with pytest.raises(AssertionError, match="lock file was read"):
        cfg.get_profile("full")
