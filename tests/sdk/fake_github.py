"""A fake of the two GitHub REST endpoints ParseContextURL reads for a repository URL, for the
SDK tests' SCM flow (the server reaches it through `--scm-api-url github.com=URL`).

    python3 tests/sdk/fake_github.py PORT_FILE

Listens on 127.0.0.1:0 and writes its port to PORT_FILE. It answers only a request that carries
a bearer token, and remembers which tokens it saw:

  GET /repos/OWNER/REPO                 the repository (default branch `main`)
  GET /repos/OWNER/REPO/branches/main   the branch's head commit
  GET /_seen                            the tokens seen so far, as a JSON list (for the test)

Standard library only (it runs under any of the test venvs' Python).
"""

import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEAD = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
SEEN: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def _answer(self, status: int, body) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        if self.path == "/_seen":
            return self._answer(200, SEEN)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or len(auth) <= len("Bearer "):
            return self._answer(401, {"message": "Requires authentication"})
        SEEN.append(auth[len("Bearer "):])
        repo = re.fullmatch(r"/repos/([^/]+)/([^/]+)", self.path)
        if repo:
            owner, name = repo.groups()
            return self._answer(200, {
                "name": name, "owner": {"login": owner}, "private": True, "default_branch": "main",
                "clone_url": f"https://github.com/{owner}/{name}.git",
                "html_url": f"https://github.com/{owner}/{name}",
            })
        if re.fullmatch(r"/repos/[^/]+/[^/]+/branches/main", self.path):
            return self._answer(200, {"name": "main", "commit": {"sha": HEAD}})
        return self._answer(404, {"message": "Not Found"})

    def log_message(self, *args) -> None:  # quiet: tokens are in headers, never logged anyway
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
