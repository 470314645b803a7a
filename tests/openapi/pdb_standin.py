#!/usr/bin/env python3
"""A PeeringDB stand-in for the API fuzz run (tests/openapi/check.sh), on
loopback only: the REST API knows one exchange (id 1) and nothing else, so
a sync succeeds; the OAuth profile endpoint refuses every token (401), so a
token that is not an operator key is simply invalid. Prints its port, then
serves until killed."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class Handler(BaseHTTPRequestHandler):
    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlparse(self.path).path.rstrip("/")
        if path.endswith("/profile/v1"):
            self.answer(401, {"detail": "invalid token"})
        elif path.endswith("/api/ix"):
            self.answer(200, {"data": [{"id": 1, "name": "CI-IX", "status": "ok"}]})
        elif path.startswith("/api/"):
            self.answer(200, {"data": []})
        else:
            self.answer(404, {"detail": "not found"})

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
