"""A threaded HTTP server on 127.0.0.1 for the test stand-ins (the scripted OpenAI-compatible
server, the Hugging Face Hub stand-in): a real socket, a free port, quiet logs, started and stopped
as a context manager."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass


class LocalHTTPServer:
    """Serves ``handler`` (a :class:`QuietHandler` subclass) on a free port of 127.0.0.1 while
    entered; :attr:`origin` is ``http://127.0.0.1:<port>``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
