"""OpenWebMath on the Hugging Face Hub: the pinned dataset, its Parquet shards, one URI per shard.

The full profile reads ``open-web-math/open-web-math`` at the commit ``sources.lock.json`` pins,
shard by shard: ``foundry sources lock`` records the revision and the list of ``data/*.parquet``
files at that revision (:class:`pipelines.bigmath.lock.ListedDataset`), so the shards -- and the
Dagster partitions named after them -- are known offline and stay the same until the lock is
renewed. A shard is read by URI, ``hf://datasets/<id>@<revision>/<path>``, through
``huggingface_hub``'s ``HfFileSystem`` (range requests: the reader streams record batches, it never
downloads the shard whole). ``HF_ENDPOINT`` names a mirror (the tests' stand-in Hub on 127.0.0.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from pipelines.bigmath import lock
from pipelines.core.io import InputFileError

HF_ID = "open-web-math/open-web-math"
PATTERN = "data/*.parquet"
LISTED = (lock.ListedDataset(HF_ID, PATTERN, ("owm",)),)


class UnpinnedShardsError(InputFileError):
    """The full profile's Hub shards have no locked revision (or no listed files): nothing to read."""


@dataclass(frozen=True)
class HubShards:
    hf_id: str
    revision: str | None
    files: tuple[str, ...]   # repository paths at the revision, sorted

    @property
    def pinned(self) -> bool:
        return bool(self.revision) and bool(self.files)

    def uris(self) -> tuple[str, ...]:
        return tuple(shard_uri(self.hf_id, self.revision or "", f) for f in self.files)

    def require(self) -> tuple[str, ...]:
        """The shard URIs, or :class:`UnpinnedShardsError` naming the command that pins them."""
        if not self.pinned:
            raise UnpinnedShardsError(
                f"{lock.LOCK_PATH.name}: Hugging Face dataset {self.hf_id!r} has no locked revision and shard list. "
                f"Run `foundry sources lock` with network access (it lists {PATTERN} at the Hub's current commit) "
                f"and commit {lock.LOCK_PATH.name}; or pass local shards: `foundry owm build --shard FILE`")
        return self.uris()


def shard_uri(hf_id: str, revision: str, path: str) -> str:
    # HfFileSystem reads the revision after '@'; a revision with '/' (a branch) must be quoted
    return f"hf://datasets/{hf_id}@{quote(revision, safe='')}/{path}"


def locked_shards(lock_path=None) -> HubShards:
    """OpenWebMath's entry of the lock file (unpinned when absent or unresolved)."""
    path = lock.LOCK_PATH if lock_path is None else lock_path
    return HubShards(HF_ID, lock.read_lock(path).get(HF_ID), lock.read_lock_files(path).get(HF_ID, ()))


def shard_name(location: str) -> str:
    """The file name of a local path or a URI (``.../train-00000-of-00114.parquet``)."""
    return PurePosixPath(str(location).split("?", 1)[0]).name


def storage_options(location: str) -> dict:
    """fsspec options for a shard URI: the Hub endpoint from ``HF_ENDPOINT``, read now (a mirror set
    after huggingface_hub's import still counts)."""
    if str(location).startswith("hf://"):
        endpoint = os.environ.get("HF_ENDPOINT")
        return {"endpoint": endpoint} if endpoint else {}
    from pipelines.core.storage import storage_options_from_env

    return storage_options_from_env(location)
