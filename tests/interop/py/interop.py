"""Shared runner scenario for the Python-driven interop clients (buf curl, grpcio, curl).

A client supplies `call(method, request) -> response`, both proto3 JSON dicts (camelCase keys,
enum names), for methods of gitpod.v1.RunnerService; an RPC error is raised as `RpcError` with
the Connect code name ("not_found", ...). Anything else raised means the transport broke and
aborts the scenario. The expectations live in ../scenario.json, shared with the Node client.
"""

import copy
import json
import os
import re
import sys
from pathlib import Path

SCENARIO = json.loads((Path(__file__).resolve().parent.parent / "scenario.json").read_text())
UUID = re.compile(SCENARIO["uuidPattern"])
# Every API call carries `Authorization: Bearer <token>`; the auth checks also send this wrong one.
WRONG_TOKEN = "gpat_wrong"

# Connect code names by number (the gRPC status numbers).
CODES = [
    "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
    "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
    "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
    "unauthenticated",
]


class RpcError(Exception):
    def __init__(self, code, message=""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Report:
    """Counts checks and prints one line per check, then `RESULT <client> passed=N failed=M`."""

    def __init__(self, client):
        self.client = client
        self.label = client
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok   [{self.label}] {name}", flush=True)
        else:
            self.failed += 1
            print(f"  FAIL [{self.label}] {name}: {detail}", flush=True)
        return ok

    def eq(self, name, actual, expected):
        return self.check(name, actual == expected, f"expected {expected!r}, got {actual!r}")

    def subset(self, name, actual, expected):
        """Every key of `expected` is in `actual` with the same value (recursively)."""
        diffs = subset_diffs(actual, expected)
        return self.check(name, not diffs, "; ".join(diffs))

    def expect_error(self, name, code, fn, message=None):
        try:
            got = fn()
        except RpcError as e:
            ok = e.code == code and (message is None or e.message == message)
            return self.check(name, ok, f"expected {code} {message or ''}, got {e.code}: {e.message!r}")
        return self.check(name, False, f"expected {code}, got success {got!r}")

    def finish(self):
        print(f"RESULT {self.client} passed={self.passed} failed={self.failed}", flush=True)
        return 1 if self.failed else 0


def subset_diffs(actual, expected, path="runner"):
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = []
        for key, value in expected.items():
            out += subset_diffs(actual.get(key), value, f"{path}.{key}")
        return out
    return [] if actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


def run_scenario(report, label, call):
    """Runs the whole scenario; a transport failure or an unexpected RPC error aborts it."""
    report.label = label
    state = {"step": "start", "cleanup": []}
    try:
        _scenario(report, label, call, state)
    except Exception as e:  # noqa: BLE001 - any failure aborts this client's scenario
        report.check(f"scenario aborted at step '{state['step']}'", False, f"{type(e).__name__}: {e}")
    finally:
        for runner_id in state["cleanup"]:  # best effort, after an abort
            try:
                call("DeleteRunner", {"runnerId": runner_id})
            except Exception:  # noqa: BLE001
                pass


def _scenario(r, label, call, state):
    S = SCENARIO
    prefix = f"interop-{label.replace('/', '-')}-"

    def step(name):
        state["step"] = name

    def get(runner_id):
        return call("GetRunner", {"runnerId": runner_id})["runner"]

    step("create")
    main_name = prefix + S["main"]["name"]
    created = call("CreateRunner", {"name": main_name, **S["main"]["request"]})
    runner = created.get("runner", {})
    runner_id = runner.get("runnerId", "")
    state["cleanup"].append(runner_id)
    r.check("create: runnerId is a UUID", bool(UUID.match(runner_id)), repr(runner_id))
    r.subset("create: runner fields", runner, {"name": main_name, **S["main"]["expect"]})
    r.check("create: createdAt and updatedAt set", bool(runner.get("createdAt")) and bool(runner.get("updatedAt")), repr(runner))
    r.check("create: exchangeToken non-empty", bool(created.get("exchangeToken")), repr(created.get("exchangeToken")))

    step("get")
    got = get(runner_id)
    for field in ("runnerId", "name", "kind", "provider", "createdAt", "updatedAt", "spec", "status"):
        r.eq(f"get: {field} as created", got.get(field), runner.get(field))

    step("create more")
    ids = [runner_id]
    for i in range(1, S["extra"]["count"] + 1):
        name = f"{prefix}{S['extra']['name']}-{i}"
        extra = call("CreateRunner", {"name": name, **S["extra"]["request"]})["runner"]
        state["cleanup"].append(extra["runnerId"])
        ids.append(extra["runnerId"])
        r.subset(f"create more: runner {i} fields", extra, {"name": name, **S["extra"]["expect"]})

    step("list")
    seen, token, pages, empty_with_token, oversized = [], "", 0, 0, 0
    while True:
        pagination = {"pageSize": S["pageSize"], **({"token": token} if token else {})}
        page = call("ListRunners", {"pagination": pagination})
        runners = page.get("runners", [])
        token = page.get("pagination", {}).get("nextToken", "")
        pages += 1
        oversized += len(runners) > S["pageSize"]
        empty_with_token += bool(token) and not runners
        seen += [x.get("runnerId") for x in runners]
        if not token or pages >= S["maxPages"]:
            break
    r.eq(f"list: last page (of {pages}) has an empty nextToken", token, "")
    r.eq(f"list: no page larger than pageSize {S['pageSize']}", oversized, 0)
    r.eq("list: no empty page with a nextToken", empty_with_token, 0)
    r.eq("list: no runner listed twice", len(seen), len(set(seen)))
    r.eq("list: all 5 runners seen once, in creation order", [x for x in seen if x in ids], ids)

    step("update name")
    renamed = prefix + S["renamed"]
    r.eq("update name: response is {}", call("UpdateRunner", {"runnerId": runner_id, "name": renamed}), {})
    after = get(runner_id)
    r.eq("update name: name changed", after.get("name"), renamed)
    r.eq("update name: region unchanged", after.get("spec", {}).get("configuration", {}).get("region"),
         S["main"]["request"]["spec"]["configuration"]["region"])
    r.eq("update name: spec unchanged", after.get("spec"), runner.get("spec"))

    step("update autoUpdate")
    request = {"runnerId": runner_id, "spec": {"configuration": {"autoUpdate": True}}}
    r.eq("update autoUpdate: response is {}", call("UpdateRunner", request), {})
    after = get(runner_id)
    expected_spec = copy.deepcopy(runner.get("spec", {}))
    expected_spec.setdefault("configuration", {})["autoUpdate"] = True
    r.eq("update autoUpdate: autoUpdate is true", after.get("spec", {}).get("configuration", {}).get("autoUpdate"), True)
    r.eq("update autoUpdate: name unchanged", after.get("name"), renamed)
    r.eq("update autoUpdate: rest of spec unchanged", after.get("spec"), expected_spec)

    step("delete")
    r.eq("delete: response is {}", call("DeleteRunner", {"runnerId": runner_id}), {})
    state["cleanup"].remove(runner_id)
    r.expect_error("delete: get afterwards gives not_found", "not_found", lambda: get(runner_id))

    step("errors")
    r.expect_error("get 'not-a-uuid' gives invalid_argument", "invalid_argument",
                   lambda: get(S["malformedRunnerId"]))
    u = S["precondition"]
    r.expect_error(f"{u['method']} without an SCM integration gives {u['code']}", u["code"],
                   lambda: call(u["method"], {"runnerId": ids[1], **u["request"]}), u["message"])

    step("cleanup")
    for extra_id in ids[1:]:
        r.eq("cleanup: delete extra runner", call("DeleteRunner", {"runnerId": extra_id}), {})
        state["cleanup"].remove(extra_id)


def base_url():
    if len(sys.argv) < 2:
        sys.exit(f"usage: INTEROP_TOKEN=gpat_... {sys.argv[0]} http://127.0.0.1:PORT")
    return sys.argv[1].rstrip("/")


def api_token():
    """The bearer token for every API call: INTEROP_TOKEN, set by run.sh from the server's stdout."""
    token = os.environ.get("INTEROP_TOKEN", "")
    if not token:
        sys.exit(f"{sys.argv[0]}: INTEROP_TOKEN (the server's admin token) is not set")
    return token
