"""Publishing a verified release: to a local directory (offline mirror) or to the Hugging Face Hub.

Both refuse a release that does not verify. The Hub path commits the directory (removing shards
of earlier versions in the same commit) and tags the commit ``v<version>``; an existing tag is never
moved. :func:`hub_plan` is pure so the dry run and tests can show exactly what would happen.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.release.manifest import MANIFEST, read_manifest, verify_release
from pipelines.release.versions import ReleaseRefused, parse_version

TOKEN_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def _verified(directory: Path) -> dict:
    report = verify_release(directory)
    if not report.ok:
        raise ReleaseRefused("refusing to publish a release that does not verify:\n" + "\n".join(report.lines()))
    return read_manifest(directory)


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` as the Hub validates it (huggingface_hub's own validator), in ORG/NAME form."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ReleaseRefused(f"--repo {str(repo_id)[:120]!r}: give ORG/NAME (e.g. my-org/bigmath-rl)")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise ReleaseRefused(f"--repo {repo_id[:120]!r} is not a valid Hugging Face repo id: {exc}") from None
    if any(part in (".", "..") for part in repo_id.split("/")):  # the Hub refuses these too; never a path step
        raise ReleaseRefused(f"--repo {repo_id!r}: '.' and '..' are not repo names")
    return repo_id


def local_destination(target_root: str | Path, repo_id: str, version: str) -> Path:
    """``<target_root>/<org>/<name>/v<version>``, refused unless it resolves inside ``target_root``."""
    check_repo_id(repo_id)
    parse_version(version)
    root = Path(target_root).resolve()
    dest = Path(root, *repo_id.split("/"), f"v{version}").resolve()
    if root not in dest.parents:
        raise ReleaseRefused(f"--repo {repo_id!r} with --local-dir {target_root} resolves to {dest}, outside "
                             f"{root}; refusing to write there")
    return dest


# ------------------------------------------------------------------ local


def publish_local(directory: str | Path, target_root: str | Path, repo_id: str) -> Path:
    """Copy the release to ``<target_root>/<org>/<name>/v<version>/`` (immutable; same layout)."""
    directory = Path(directory)
    check_repo_id(repo_id)
    manifest = _verified(directory)
    dest = local_destination(target_root, repo_id, manifest["version"])
    if dest.exists():
        old = read_manifest(dest) if (dest / MANIFEST).exists() else {}
        if old.get("content_hash") != manifest["content_hash"]:
            raise ReleaseRefused(f"{dest} already holds {repo_id} v{manifest['version']} with different content; "
                                 f"a published version never changes")
        if (dest / MANIFEST).read_bytes() == (directory / MANIFEST).read_bytes() and verify_release(dest).ok:
            return dest  # already published, byte for byte
        shutil.rmtree(dest)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(directory, tmp)
    os.replace(tmp, dest)
    if not verify_release(dest).ok:
        raise RuntimeError(f"{dest}: the copy does not verify")
    return dest


# ------------------------------------------------------------------ Hub


@dataclass
class HubPlan:
    repo_id: str
    version: str
    tag: str
    commit_message: str
    files: list[dict]
    delete_patterns: list[str] = field(default_factory=lambda: ["data/**", "images/**"])
    private: bool = False
    token_env: str | None = None

    def lines(self) -> list[str]:
        out = [f"repo:    https://huggingface.co/datasets/{self.repo_id} ({'private' if self.private else 'public'}; "
               f"created if missing)",
               f"token:   {'from $' + self.token_env if self.token_env else 'MISSING: set HF_TOKEN'}",
               f"commit:  {self.commit_message!r}",
               f"delete:  files matching {', '.join(self.delete_patterns)} that this release does not contain",
               f"upload:  {len(self.files)} files, {sum(f['bytes'] for f in self.files):,} bytes"]
        out += [f"  {f['path']:<50} {f['bytes']:>12,} B  sha256:{f['sha256'][:12]}" for f in self.files]
        out.append(f"tag:     {self.tag} on that commit (refused if the tag exists on other content)")
        return out


def hub_plan(directory: str | Path, repo_id: str, private: bool = False) -> HubPlan:
    directory = Path(directory)
    check_repo_id(repo_id)
    manifest = _verified(directory)
    parse_version(manifest["version"])
    size = (directory / MANIFEST).stat().st_size
    from pipelines.core.hashing import file_sha256

    files = sorted(manifest["files"] + [{"path": MANIFEST, "bytes": size, "sha256": file_sha256(directory / MANIFEST)}],
                   key=lambda f: f["path"])
    token_env = next((k for k in TOKEN_ENV if os.environ.get(k)), None)
    return HubPlan(repo_id, manifest["version"], f"v{manifest['version']}",
                   f"Release {manifest['dataset']} v{manifest['version']} (content {manifest['content_hash'][:12]})",
                   [{k: f[k] for k in ("path", "bytes", "sha256")} for f in files], private=private, token_env=token_env)


def publish_hub(directory: str | Path, plan: HubPlan, api=None) -> str:
    """Execute ``plan``: create the repo, commit the folder, tag the commit. Returns the commit id.

    ``api`` is an ``huggingface_hub.HfApi`` (tests pass a stand-in). An existing tag is refused
    unless it points at a commit whose manifest has the same content hash.
    """
    if api is None:
        if plan.token_env is None:
            raise ReleaseRefused("no Hugging Face token: set HF_TOKEN (a write token for the target org)")
        from huggingface_hub import HfApi

        api = HfApi(token=os.environ[plan.token_env])
    api.create_repo(plan.repo_id, repo_type="dataset", private=plan.private, exist_ok=True)
    refs = api.list_repo_refs(plan.repo_id, repo_type="dataset")
    if any(t.name == plan.tag for t in getattr(refs, "tags", [])):
        raise ReleaseRefused(f"{plan.repo_id} already has tag {plan.tag}; a published version never changes "
                             f"(publish a new version instead)")
    info = api.upload_folder(folder_path=str(directory), repo_id=plan.repo_id, repo_type="dataset",
                             commit_message=plan.commit_message, delete_patterns=plan.delete_patterns)
    commit = getattr(info, "oid", None) or getattr(info, "commit_id", None) or str(info)
    api.create_tag(plan.repo_id, tag=plan.tag, revision=commit, repo_type="dataset",
                   tag_message=plan.commit_message)
    return commit
