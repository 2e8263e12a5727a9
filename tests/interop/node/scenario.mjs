// The shared runner scenario, the Node twin of ../py/interop.py: same steps, same check names,
// same expectations (../scenario.json). `call(method, request)` takes and returns proto3 JSON and
// throws RpcError (Connect code name such as "not_found") for an RPC error; anything else thrown
// aborts the scenario.

import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";

export const SCENARIO = JSON.parse(readFileSync(new URL("../scenario.json", import.meta.url), "utf8"));
const UUID = new RegExp(SCENARIO.uuidPattern);

export class RpcError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.rpcMessage = message;
  }
}

const show = (v) => JSON.stringify(v);

export class Report {
  constructor(client) {
    this.client = client;
    this.label = client;
    this.passed = 0;
    this.failed = 0;
  }
  check(name, ok, detail = "") {
    if (ok) {
      this.passed++;
      console.log(`  ok   [${this.label}] ${name}`);
    } else {
      this.failed++;
      console.log(`  FAIL [${this.label}] ${name}: ${detail}`);
    }
    return ok;
  }
  eq(name, actual, expected) {
    return this.check(name, isDeepStrictEqual(actual, expected), `expected ${show(expected)}, got ${show(actual)}`);
  }
  subset(name, actual, expected) {
    const diffs = subsetDiffs(actual, expected);
    return this.check(name, diffs.length === 0, diffs.join("; "));
  }
  async expectError(name, code, fn, message = undefined) {
    try {
      const got = await fn();
      return this.check(name, false, `expected ${code}, got success ${show(got)}`);
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      const ok = e.code === code && (message === undefined || e.rpcMessage === message);
      return this.check(name, ok, `expected ${code} ${message ?? ""}, got ${e.code}: ${show(e.rpcMessage)}`);
    }
  }
  finish() {
    console.log(`RESULT ${this.client} passed=${this.passed} failed=${this.failed}`);
    return this.failed ? 1 : 0;
  }
}

function subsetDiffs(actual, expected, path = "runner") {
  if (expected !== null && typeof expected === "object") {
    if (actual === null || typeof actual !== "object") return [`${path}: expected an object, got ${show(actual)}`];
    return Object.entries(expected).flatMap(([k, v]) => subsetDiffs(actual[k], v, `${path}.${k}`));
  }
  return isDeepStrictEqual(actual, expected) ? [] : [`${path}: expected ${show(expected)}, got ${show(actual)}`];
}

/** Runs the whole scenario; a transport failure or an unexpected RPC error aborts it. */
export async function runScenario(report, label, call) {
  report.label = label;
  const state = { step: "start", cleanup: [] };
  try {
    await scenario(report, label, call, state);
  } catch (e) {
    report.check(`scenario aborted at step '${state.step}'`, false, `${e?.name}: ${e?.message}`);
  } finally {
    for (const runnerId of state.cleanup) {
      await call("DeleteRunner", { runnerId }).catch(() => {}); // best effort, after an abort
    }
  }
}

async function scenario(r, label, call, state) {
  const S = SCENARIO;
  const prefix = `interop-${label.replaceAll("/", "-")}-`;
  const step = (name) => (state.step = name);
  const get = async (runnerId) => (await call("GetRunner", { runnerId })).runner;
  const forget = (id) => state.cleanup.splice(state.cleanup.indexOf(id), 1);

  step("create");
  const mainName = prefix + S.main.name;
  const created = await call("CreateRunner", { name: mainName, ...S.main.request });
  const runner = created.runner ?? {};
  const runnerId = runner.runnerId ?? "";
  state.cleanup.push(runnerId);
  r.check("create: runnerId is a UUID", UUID.test(runnerId), show(runnerId));
  r.subset("create: runner fields", runner, { name: mainName, ...S.main.expect });
  r.check("create: createdAt and updatedAt set", Boolean(runner.createdAt && runner.updatedAt), show(runner));
  r.check("create: exchangeToken non-empty", Boolean(created.exchangeToken), show(created.exchangeToken));

  step("get");
  const got = await get(runnerId);
  for (const field of ["runnerId", "name", "kind", "provider", "createdAt", "updatedAt", "spec", "status"]) {
    r.eq(`get: ${field} as created`, got?.[field], runner[field]);
  }

  step("create more");
  const ids = [runnerId];
  for (let i = 1; i <= S.extra.count; i++) {
    const name = `${prefix}${S.extra.name}-${i}`;
    const extra = (await call("CreateRunner", { name, ...S.extra.request })).runner;
    state.cleanup.push(extra.runnerId);
    ids.push(extra.runnerId);
    r.subset(`create more: runner ${i} fields`, extra, { name, ...S.extra.expect });
  }

  step("list");
  const seen = [];
  let token = "", pages = 0, emptyWithToken = 0, oversized = 0;
  for (;;) {
    const page = await call("ListRunners", { pagination: { pageSize: S.pageSize, ...(token ? { token } : {}) } });
    const runners = page.runners ?? [];
    token = page.pagination?.nextToken ?? "";
    pages++;
    oversized += runners.length > S.pageSize;
    emptyWithToken += Boolean(token) && runners.length === 0;
    seen.push(...runners.map((x) => x.runnerId));
    if (!token || pages >= S.maxPages) break;
  }
  r.eq(`list: last page (of ${pages}) has an empty nextToken`, token, "");
  r.eq(`list: no page larger than pageSize ${S.pageSize}`, oversized, 0);
  r.eq("list: no empty page with a nextToken", emptyWithToken, 0);
  r.eq("list: no runner listed twice", seen.length, new Set(seen).size);
  r.eq("list: all 5 runners seen once, in creation order", seen.filter((x) => ids.includes(x)), ids);

  step("update name");
  const renamed = prefix + S.renamed;
  r.eq("update name: response is {}", await call("UpdateRunner", { runnerId, name: renamed }), {});
  let after = await get(runnerId);
  r.eq("update name: name changed", after?.name, renamed);
  r.eq("update name: region unchanged", after?.spec?.configuration?.region, S.main.request.spec.configuration.region);
  r.eq("update name: spec unchanged", after?.spec, runner.spec);

  step("update autoUpdate");
  const request = { runnerId, spec: { configuration: { autoUpdate: true } } };
  r.eq("update autoUpdate: response is {}", await call("UpdateRunner", request), {});
  after = await get(runnerId);
  const expectedSpec = structuredClone(runner.spec ?? {});
  expectedSpec.configuration = { ...expectedSpec.configuration, autoUpdate: true };
  r.eq("update autoUpdate: autoUpdate is true", after?.spec?.configuration?.autoUpdate, true);
  r.eq("update autoUpdate: name unchanged", after?.name, renamed);
  r.eq("update autoUpdate: rest of spec unchanged", after?.spec, expectedSpec);

  step("delete");
  r.eq("delete: response is {}", await call("DeleteRunner", { runnerId }), {});
  forget(runnerId);
  await r.expectError("delete: get afterwards gives not_found", "not_found", () => get(runnerId));

  step("errors");
  await r.expectError("get 'not-a-uuid' gives invalid_argument", "invalid_argument", () => get(S.malformedRunnerId));
  const u = S.precondition;
  await r.expectError(`${u.method} without an SCM integration gives ${u.code}`, u.code,
    () => call(u.method, { runnerId: ids[1], ...u.request }), u.message);

  step("cleanup");
  for (const extraId of ids.slice(1)) {
    r.eq("cleanup: delete extra runner", await call("DeleteRunner", { runnerId: extraId }), {});
    forget(extraId);
  }
}
