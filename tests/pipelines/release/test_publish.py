"""Publishing: local mirror with the same layout, Hub plan and dry run (the Hub is unreachable here,
so the Hub path runs against a recording stand-in of ``HfApi``)."""

from __future__ import annotations

from types import SimpleNamespace

import datasets
import polars as pl
import pytest

from pipelines.release.build import build_release
from pipelines.release.manifest import verify_release
from pipelines.release.publish import hub_plan, publish_hub, publish_local
from pipelines.release.versions import ReleaseRefused
from tests.pipelines.release.toy import toy_frames, toy_spec


@pytest.fixture
def release(tmp_path):
    return build_release(toy_spec(), toy_frames(), "1.0.0", tmp_path / "out", ledger_dir=tmp_path / "ledger").directory


class FakeHub:
    def __init__(self, tags=()):
        self.calls = []
        self.tags = [SimpleNamespace(name=t) for t in tags]

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def list_repo_refs(self, repo_id, **kw):
        return SimpleNamespace(tags=self.tags, branches=[])

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw))
        return SimpleNamespace(oid="c0ffee")

    def create_tag(self, repo_id, **kw):
        self.calls.append(("create_tag", repo_id, kw))


def test_local_publish_has_the_same_layout_and_loads(tmp_path, release):
    dest = publish_local(release, tmp_path / "mirror", "org/toy")
    assert dest == tmp_path / "mirror" / "org" / "toy" / "v1.0.0"
    assert verify_release(dest).ok
    assert sorted(p.relative_to(dest) for p in dest.rglob("*")) == sorted(p.relative_to(release) for p in release.rglob("*"))
    assert datasets.load_dataset(str(dest))["train"].num_rows == 9
    assert publish_local(release, tmp_path / "mirror", "org/toy") == dest  # idempotent


def test_local_publish_refuses_other_content_under_the_same_version(tmp_path, release):
    publish_local(release, tmp_path / "mirror", "org/toy")
    frames = toy_frames()
    frames["toy_kept"] = frames["toy_kept"].with_columns(pl.lit("0").alias("answer"))
    other = build_release(toy_spec(), frames, "1.0.0", tmp_path / "other", ledger_dir=tmp_path / "ledger2").directory
    with pytest.raises(ReleaseRefused, match="different content"):
        publish_local(other, tmp_path / "mirror", "org/toy")


def test_publish_refuses_a_tampered_release(tmp_path, release):
    (release / "CHANGELOG.md").write_text("edited")
    with pytest.raises(ReleaseRefused, match="does not verify"):
        publish_local(release, tmp_path / "mirror", "org/toy")
    with pytest.raises(ReleaseRefused, match="MISMATCH CHANGELOG.md"):
        hub_plan(release, "org/toy")


def test_hub_plan_lists_every_file_commit_and_tag(release, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    plan = hub_plan(release, "org/toy")
    assert plan.tag == "v1.0.0" and plan.token_env is None
    paths = [f["path"] for f in plan.files]
    assert "manifest.json" in paths and "README.md" in paths and "data/default/train-00000-of-00001.parquet" in paths
    text = "\n".join(plan.lines())
    assert "MISSING: set HF_TOKEN" in text and "tag:     v1.0.0" in text
    with pytest.raises(ReleaseRefused, match="no Hugging Face token"):
        publish_hub(release, plan)
    with pytest.raises(ReleaseRefused, match="ORG/NAME"):
        hub_plan(release, "toy")


def test_hub_publish_commits_then_tags_that_commit(release, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    plan = hub_plan(release, "org/toy")
    assert plan.token_env == "HF_TOKEN" and "hf_test" not in "\n".join(plan.lines())
    api = FakeHub()
    assert publish_hub(release, plan, api=api) == "c0ffee"
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "upload_folder", "create_tag"]
    upload = api.calls[1][1]
    assert upload["repo_id"] == "org/toy" and upload["repo_type"] == "dataset" and "data/**" in upload["delete_patterns"]
    assert api.calls[2][2]["tag"] == "v1.0.0" and api.calls[2][2]["revision"] == "c0ffee"


def test_hub_publish_never_moves_an_existing_tag(release):
    api = FakeHub(tags=["v1.0.0"])
    with pytest.raises(ReleaseRefused, match="already has tag v1.0.0"):
        publish_hub(release, hub_plan(release, "org/toy"), api=api)
    assert [c[0] for c in api.calls] == ["create_repo"]
