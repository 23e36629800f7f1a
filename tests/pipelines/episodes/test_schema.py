import numpy as np
import polars as pl

from pipelines.episodes import reasons
from pipelines.episodes.schema import (EPISODE_SCHEMA, STEP_SCHEMA, Episode, ee7_from_delta, ee7_from_poses,
                                       structural_problem, to_frames)


def _ep(t=3, terminated=True, **kw):
    return Episode(source="s", source_format="minari", source_id=kw.pop("sid", "a#0"), obs_state=np.zeros((t + 1, 2)),
                   actions=np.ones((t, 1)), rewards=np.arange(t, dtype=float), terminated=terminated,
                   truncated=not terminated, **kw)


def test_steps_follow_rlds_semantics():
    episodes, steps = to_frames([_ep(3, terminated=True), _ep(2, terminated=False, sid="a#1")])
    assert dict(episodes.schema) == EPISODE_SCHEMA and dict(steps.schema) == STEP_SCHEMA
    first = steps.filter(pl.col("episode_id") == episodes["episode_id"][0])
    assert first.get_column("is_first").to_list() == [True, False, False, False]
    assert first.get_column("is_last").to_list() == [False, False, False, True]
    assert first.get_column("is_terminal").to_list() == [False, False, False, True]
    assert first.get_column("action").to_list()[-1] is None and first.get_column("reward").to_list()[-1] == 0.0
    assert first.get_column("discount").to_list() == [1.0, 1.0, 1.0, 0.0]
    second = steps.filter(pl.col("episode_id") == episodes["episode_id"][1])
    assert second.get_column("is_terminal").sum() == 0  # truncation: is_last without is_terminal
    assert episodes.get_column("return").to_list() == [3.0, 1.0]
    assert episodes.get_column("truncated").to_list() == [False, True]


def test_structural_problems_are_named():
    bad = _ep(3)
    bad.obs_state = np.zeros((3, 2))
    assert structural_problem(bad)[0] == reasons.SHAPE_MISMATCH
    empty = _ep(3)
    empty.actions = np.zeros((0, 1))
    assert structural_problem(empty)[0] == reasons.EMPTY_EPISODE


def test_ee7_from_poses_wraps_rotation_and_keeps_gripper():
    xyz = np.array([[0, 0, 0], [0.1, 0, 0], [0.1, 0.2, 0]])
    rpy = np.array([[0, 0, 3.1], [0, 0, -3.1], [0, 0, -3.0]])
    out = ee7_from_poses(xyz, rpy, np.array([1.0, 0.0, 0.0]))
    assert out.shape == (2, 7)
    np.testing.assert_allclose(out[0, :3], [0.1, 0, 0])
    np.testing.assert_allclose(out[0, 5], 2 * np.pi - 6.2, atol=1e-9)  # +0.083, not -6.2
    assert out[:, 6].tolist() == [1.0, 0.0]


def test_ee7_from_delta_maps_gripper_to_open_is_one():
    out = ee7_from_delta(np.zeros((2, 3)), np.zeros((2, 3)), np.array([-1.0, 1.0]))
    assert out[:, 6].tolist() == [0.0, 1.0]
    closed = ee7_from_delta(np.zeros((2, 3)), np.zeros((2, 3)), np.array([1.0, 0.0]), gripper_open_is_positive=False)
    assert closed[:, 6].tolist() == [0.0, 1.0]
