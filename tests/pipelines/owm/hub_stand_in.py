"""A stand-in for the Hugging Face Hub on 127.0.0.1 serving dataset files: enough of it for
``HfApi.dataset_info`` / ``list_repo_files`` (what ``foundry sources lock`` asks) and for
``HfFileSystem`` reading a file with range requests (what the OWM reader does with an ``hf://`` URI).

``repos`` maps a dataset id to ``(commit sha, {path: bytes})``. Served:

- ``GET /api/datasets/{id}`` and ``.../revision/{rev}``: id, sha, siblings;
- ``GET /api/datasets/{id}/tree/{rev}[/{dir}]`` (``recursive``): files and directories;
- ``POST /api/datasets/{id}/paths-info/{rev}``: the named paths;
- ``GET``/``HEAD /datasets/{id}/resolve/{rev}/{path}`` with ``Range``: the bytes (206 for a range).

A revision other than the sha (or ``main``) is the Hub's 404 ``RevisionNotFound``; an unknown id
``RepoNotFound``. Every request is recorded in ``requests`` as ``(method, path, range header)``.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, unquote, urlsplit

from tests.local_http import LocalHTTPServer, QuietHandler


class HubStandIn(LocalHTTPServer):
    def __init__(self, repos: dict[str, tuple[str, dict[str, bytes]]]):
        self.repos = dict(repos)
        self.requests: list[tuple[str, str, str | None]] = []
        hub = self

        class Handler(QuietHandler):
            def do_HEAD(self):
                self._route("HEAD")

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def _route(self, method):
                url = urlsplit(self.path)
                path = unquote(url.path)
                query = parse_qs(url.query)
                hub.requests.append((method, path, self.headers.get("range")))
                parts = path.strip("/").split("/")
                if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
                    return self._api(method, "/".join(parts[2:4]), parts[4:], query)
                if parts[:1] == ["datasets"] and len(parts) >= 6 and parts[3] == "resolve":
                    return self._resolve(method, "/".join(parts[1:3]), parts[4], "/".join(parts[5:]))
                self._json(404, {"error": "not found"}, {"X-Error-Code": "EntryNotFound"})

            def _repo(self, repo_id, rev):
                if repo_id not in hub.repos:
                    self._json(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
                    return None
                sha, files = hub.repos[repo_id]
                if rev not in (None, sha, "main"):
                    self._json(404, {"error": f"Invalid rev id: {rev}"}, {"X-Error-Code": "RevisionNotFound"})
                    return None
                return sha, files

            def _api(self, method, repo_id, rest, query):
                if not rest or rest[0] == "revision":
                    found = self._repo(repo_id, rest[1] if len(rest) > 1 else None)
                    if found:
                        sha, files = found
                        self._json(200, {"id": repo_id, "sha": sha, "private": False, "disabled": False, "gated": False,
                                         "downloads": 0, "likes": 0, "tags": [],
                                         "siblings": [{"rfilename": f} for f in sorted(files)]})
                    return
                if rest[0] == "tree" and len(rest) >= 2:
                    found = self._repo(repo_id, rest[1])
                    if found:
                        recursive = query.get("recursive", ["false"])[0].lower() == "true"
                        self._json(200, _tree(found[1], "/".join(rest[2:]), recursive))
                    return
                if rest[0] == "paths-info" and len(rest) >= 2 and method == "POST":
                    found = self._repo(repo_id, rest[1])
                    if found:
                        length = int(self.headers.get("content-length") or 0)
                        body = self.rfile.read(length).decode()
                        form = parse_qs(body) if "=" in body and not body.startswith("{") else json.loads(body or "{}")
                        wanted = form.get("paths", [])
                        entries = [e for e in _tree(found[1], "", True) if e["path"] in wanted]
                        self._json(200, entries)
                    return
                self._json(404, {"error": "not found"}, {"X-Error-Code": "EntryNotFound"})

            def _resolve(self, method, repo_id, rev, path):
                found = self._repo(repo_id, rev)
                if not found:
                    return
                sha, files = found
                if path not in files:
                    return self._json(404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"})
                data = files[path]
                status, start, end = 200, 0, len(data)
                rng = self.headers.get("range")
                if rng and rng.startswith("bytes="):
                    a, _, b = rng[len("bytes="):].partition("-")
                    start = int(a) if a else max(0, len(data) - int(b))
                    end = min(len(data), int(b) + 1) if (a and b) else len(data)
                    status = 206
                body = data[start:end]
                self.send_response(status)
                self.send_header("content-type", "application/octet-stream")
                self.send_header("content-length", str(len(body)))
                self.send_header("accept-ranges", "bytes")
                self.send_header("etag", f'"{_oid(data)}"')
                self.send_header("x-repo-commit", sha)
                if status == 206:
                    self.send_header("content-range", f"bytes {start}-{end - 1}/{len(data)}")
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

            def _json(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return self.origin

    def ranged_reads(self, path_suffix: str) -> list[str]:
        return [r for m, p, r in self.requests if m == "GET" and p.endswith(path_suffix) and "/resolve/" in p]



def _oid(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _tree(files: dict[str, bytes], under: str, recursive: bool) -> list[dict]:
    under = under.strip("/")
    prefix = f"{under}/" if under else ""
    out: dict[str, dict] = {}
    for path, data in sorted(files.items()):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix):].split("/")
        if len(rest) > 1:  # a directory on the way
            dirs = rest[:-1] if recursive else rest[:1]
            for i in range(len(dirs)):
                d = prefix + "/".join(dirs[: i + 1])
                out.setdefault(d, {"type": "directory", "oid": _oid(d.encode()), "size": 0, "path": d})
            if not recursive:
                continue
        out[path] = {"type": "file", "oid": _oid(data), "size": len(data), "path": path}
    return list(out.values())
