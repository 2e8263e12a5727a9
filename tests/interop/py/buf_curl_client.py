"""Interop client a: `buf curl` (from tests/interop/node/node_modules) with JSON in and out.

The schema comes from the server's reflection service (no --schema). The shared scenario runs
once per protocol: Connect, gRPC (h2c prior knowledge) and gRPC-web. Then one RPC under the /api
prefix and grpc.health.v1.Health/Check.

Every API call sends `Authorization: Bearer $INTEROP_TOKEN` (-H). Reflection requests get no
header (no --reflect-header), nor does the health check: both must stay open. Per protocol, a call
without the token and one with a wrong token must fail with unauthenticated (exit code 16 << 3).

buf curl exits with 8 x the code number on an RPC error and prints the error JSON on stderr;
any exit code below 8 is a failure of buf curl itself (such as failed reflection).

For diagnosis only, INTEROP_BUF_CURL_SCHEMA=<dir> adds `--schema <dir>` (e.g. `proto`) so the
scenario can be run past a broken reflection service; run.sh never sets it.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from interop import CODES, WRONG_TOKEN, Report, RpcError, api_token, base_url, run_scenario

BUF = str(Path(__file__).resolve().parent.parent / "node" / "node_modules" / ".bin" / "buf")
TIMEOUT = 5  # seconds per buf curl invocation (a call takes ~0.3 s)
PROTOCOLS = {
    "connect": ["--protocol", "connect"],
    "grpc": ["--protocol", "grpc", "--http2-prior-knowledge"],
    "grpcweb": ["--protocol", "grpcweb"],
}


UNAUTHENTICATED_EXIT = CODES.index("unauthenticated") << 3  # 128


def run_buf_curl(protocol, url, request=None, token=None):
    """Runs buf curl; returns (exit code, stdout, stderr). `token`: the bearer token to send, if any."""
    args = [BUF, "curl", *PROTOCOLS[protocol], url]
    if os.environ.get("INTEROP_BUF_CURL_SCHEMA"):
        args += ["--schema", os.environ["INTEROP_BUF_CURL_SCHEMA"]]
    if token is not None:
        # Only for the RPC itself: reflection requests stay unauthenticated (no --reflect-header).
        args += ["-H", f"Authorization: Bearer {token}"]
    if request is not None:
        args += ["--data", json.dumps(request)]
    # Own session: on a timeout the node wrapper and the buf binary it started are killed together.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise RuntimeError(f"buf curl timed out after {TIMEOUT}s; stderr: {err.strip()!r}") from None
    return proc.returncode, out, err


def buf_curl(protocol, url, request=None, token=None):
    returncode, out, err = run_buf_curl(protocol, url, request, token)
    if returncode == 0:
        return json.loads(out)
    if returncode >= 8 and returncode % 8 == 0 and returncode // 8 < len(CODES):
        code = CODES[returncode // 8]
        try:
            body = json.loads(err)
        except ValueError:
            body = {}
        if body.get("code") not in (None, code):
            raise RuntimeError(f"exit code {returncode} does not match error {err.strip()!r}")
        raise RpcError(code, body.get("message", ""))
    raise RuntimeError(f"buf curl exited {returncode}: {err.strip()!r}")


def auth_checks(report, base):
    """Per protocol: ListRunners without the token and with a wrong one exits 128 (unauthenticated)."""
    report.label = "buf-curl/auth"
    url = f"{base}/gitpod.v1.RunnerService/ListRunners"
    for protocol in PROTOCOLS:
        for what, token in (("without a token", None), (f"with 'Bearer {WRONG_TOKEN}'", WRONG_TOKEN)):
            name = f"{protocol}: ListRunners {what} exits {UNAUTHENTICATED_EXIT} with code unauthenticated"
            try:
                returncode, out, err = run_buf_curl(protocol, url, {}, token)
                try:
                    code = json.loads(err).get("code")
                except ValueError:
                    code = None
                report.check(name, returncode == UNAUTHENTICATED_EXIT and code == "unauthenticated",
                             f"exit {returncode}, stdout {out.strip()!r}, stderr {err.strip()!r}")
            except Exception as e:  # noqa: BLE001
                report.check(name, False, str(e))


def main():
    base = base_url()
    token = api_token()
    report = Report("buf-curl")
    for protocol in PROTOCOLS:
        run_scenario(report, f"buf-curl/{protocol}",
                     lambda method, request, p=protocol: buf_curl(p, f"{base}/gitpod.v1.RunnerService/{method}", request, token))

    report.label = "buf-curl/extra"
    for protocol in PROTOCOLS:
        try:
            page = buf_curl(protocol, f"{base}/api/gitpod.v1.RunnerService/ListRunners", {"pagination": {"pageSize": 1}}, token)
            report.check(f"{protocol}: ListRunners under /api", isinstance(page.get("runners", []), list), repr(page))
        except Exception as e:  # noqa: BLE001
            report.check(f"{protocol}: ListRunners under /api", False, str(e))
        try:
            health = buf_curl(protocol, f"{base}/grpc.health.v1.Health/Check", {})  # no token: health stays open
            report.eq(f"{protocol}: grpc.health.v1.Health/Check without a token", health, {"status": "SERVING"})
        except Exception as e:  # noqa: BLE001
            report.check(f"{protocol}: grpc.health.v1.Health/Check without a token", False, str(e))
    auth_checks(report, base)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
