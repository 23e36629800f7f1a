"""Issue 15: release versions are strict semver (full match), repo ids are the Hub's, and a local
publish never writes outside its directory."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.release.build import build_release
from pipelines.release.publish import check_repo_id, hub_plan, local_destination, publish_local
from pipelines.release.versions import ReleaseRefused, parse_version
from tests.pipelines.release.toy import toy_frames, toy_spec


@pytest.mark.parametrize("text", ["1.0.0\n", "1.0.0 ", " 1.0.0", "v1.0.0", "1.0", "01.0.0", "1.0.0-rc.1", "1.0.0+b1",
                                  "1.0.0\n2.0.0", "١.0.0", "1" * 5000 + ".0.0", "", None])
def test_versions_must_be_exactly_major_minor_patch(text):
    with pytest.raises(ReleaseRefused):
        parse_version(text)


def test_plain_versions_parse():
    assert parse_version("0.1.0") == (0, 1, 0) and parse_version("12.30.4") == (12, 30, 4)


def test_a_version_with_a_trailing_newline_does_not_make_a_second_release(tmp_path):
    build_release(toy_spec(), toy_frames(), "1.0.0", tmp_path / "a", ledger_dir=tmp_path / "ledger")
    with pytest.raises(ReleaseRefused, match="not a semantic version"):
        build_release(toy_spec(), toy_frames(), "1.0.0\n", tmp_path / "b", ledger_dir=tmp_path / "ledger")
    assert sorted(p.name for p in (tmp_path / "ledger").rglob("*.json")) == ["1.0.0.json"]


@pytest.mark.parametrize("repo", ["../../x", "org/../x", "../x", "org/name/extra", "org", "/abs", "org/na me",
                                  "org//x", "org/x..y", "o" * 97 + "/x", "org/-x", "org/x\n"])
def test_repo_ids_are_validated_as_the_hub_does(repo):
    with pytest.raises(ReleaseRefused):
        check_repo_id(repo)


def test_good_repo_ids_pass():
    assert check_repo_id("my-org/bigmath_rl.v2") == "my-org/bigmath_rl.v2"


@pytest.fixture
def release(tmp_path):
    return build_release(toy_spec(), toy_frames(), "1.0.0", tmp_path / "out", ledger_dir=tmp_path / "ledger").directory


def test_local_publish_never_writes_outside_its_directory(tmp_path, release):
    mirror = tmp_path / "deep" / "mirror"
    mirror.mkdir(parents=True)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(ReleaseRefused):
        publish_local(release, mirror, "../../x")
    res = CliRunner().invoke(main, ["release", "publish", str(release), "--repo", "../../x", "--local-dir", str(mirror)])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    with pytest.raises(ReleaseRefused):
        hub_plan(release, "../../x")


def test_local_destination_resolves_inside_or_refuses(tmp_path):
    assert local_destination(tmp_path, "org/name", "1.2.3") == (tmp_path / "org" / "name" / "v1.2.3").resolve()
    (tmp_path / "org").mkdir()
    (tmp_path / "org" / "name").symlink_to(tmp_path.parent)  # a link planted to lead outside
    with pytest.raises(ReleaseRefused, match="outside"):
        local_destination(tmp_path, "org/name", "1.2.3")


def test_release_build_refuses_a_bad_version_or_out_before_the_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(main, ["release", "build", "bigmath", "--version", "1.0.0\n", "--out", str(tmp_path / "o"),
                                    "--data-root", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "not a semantic version" in res.output, res.output
    res = CliRunner().invoke(main, ["release", "build", "bigmath", "--out", str(blocker / "o"),
                                    "--data-root", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "is a file" in res.output and "Traceback" not in res.output, res.output
