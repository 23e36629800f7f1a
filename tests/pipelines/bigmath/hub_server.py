"""A stand-in for the Hugging Face Hub API on 127.0.0.1: enough of it for ``HfApi.dataset_info``.

``GET /api/datasets/{owner}/{name}`` and ``GET /api/datasets/{owner}/{name}/revision/{rev}`` answer
with the dataset's id and commit sha (``commits[repo_id]``); an unknown repository gets the
Hub's 404 (``X-Error-Code: RepoNotFound``). Every request path is recorded in ``requests``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class HubServer:
    def __init__(self, commits: dict[str, str]):
        self.commits = dict(commits)
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = unquote(urlsplit(self.path).path)
                server.requests.append(path)
                parts = path.strip("/").split("/")
                repo = "/".join(parts[2:4]) if len(parts) >= 4 and parts[:2] == ["api", "datasets"] else None
                if repo in server.commits:
                    body = {"id": repo, "sha": server.commits[repo], "private": False, "disabled": False,
                            "gated": False, "downloads": 0, "likes": 0, "tags": [], "siblings": []}
                    self._send(200, body)
                else:
                    self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
