// Interop client c: @connectrpc/connect-node v2 with stubs from protoc-gen-es (./gen).
// Usage: INTEROP_TOKEN=gpat_... node connect_client.mjs http://127.0.0.1:PORT
//
// The shared scenario (scenario.mjs) runs once per transport: Connect JSON over HTTP/1.1,
// Connect binary over h2c, gRPC-web over HTTP/1.1, Connect JSON again with a baseUrl
// ending in /api, and twice with `useHttpGet: true` (JSON over HTTP/1.1; binary over h2c under
// /api), where the NO_SIDE_EFFECTS methods (GetRunner, ListRunners) go as Connect GET. Every transport has an interceptor that sends `Authorization: Bearer
// $INTEROP_TOKEN`; per transport, a call without the token and one with a wrong token must fail
// with Code.Unauthenticated.

import * as http from "node:http";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import {
  Http2SessionManager,
  compressionGzip,
  createConnectTransport,
  createGrpcWebTransport,
  createNodeHttpClient,
} from "@connectrpc/connect-node";
import { RunnerService } from "./gen/gitpod/v1/runner_pb.js";
import { Report, RpcError, runScenario } from "./scenario.mjs";

const base = process.argv[2]?.replace(/\/$/, "");
if (!base) {
  console.error("usage: INTEROP_TOKEN=gpat_... node connect_client.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
const token = process.env.INTEROP_TOKEN;
if (!token) {
  console.error("connect_client.mjs: INTEROP_TOKEN (the server's admin token) is not set");
  process.exit(2);
}
const WRONG_TOKEN = "gpat_wrong";

/** An interceptor that sends `Authorization: Bearer <token>` on every request. */
const bearer = (value) => (next) => (req) => {
  req.header.set("Authorization", `Bearer ${value}`);
  return next(req);
};

/** The HTTP method and RPC of every request the *-get transports sent, by transport name. */
const methodsSeen = {};

/**
 * A Connect transport with `useHttpGet: true` on connect-node's HTTP client, wrapped to record
 * what goes on the wire (interceptors run before the GET decision and always see POST).
 */
function getTransport(name, { baseUrl, httpVersion, useBinaryFormat }, interceptors) {
  const sessions = httpVersion === "2" ? new Http2SessionManager(baseUrl) : undefined;
  const inner = sessions
    ? createNodeHttpClient({ httpVersion: "2", sessionProvider: () => sessions })
    : // Its own connections: a POST refused before its body was read (another transport's, in the
      // auth checks) may leave a pooled HTTP/1.1 socket the server has closed.
      createNodeHttpClient({ httpVersion: "1.1", nodeOptions: { agent: new http.Agent({ keepAlive: true }) } });
  const httpClient = (req) => {
    (methodsSeen[name] ??= []).push(`${req.method} ${req.url.split("?")[0].split("/").pop()}`);
    return inner(req);
  };
  return createTransport({
    baseUrl,
    httpClient,
    useBinaryFormat,
    useHttpGet: true,
    interceptors,
    acceptCompression: [compressionGzip],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
  });
}

/** The transports, each with the given interceptors; the *-get ones call NO_SIDE_EFFECTS methods with GET. */
const makeTransports = (interceptors) => ({
  "connect-json": createConnectTransport({ baseUrl: base, httpVersion: "1.1", interceptors }),
  "connect-binary": createConnectTransport({ baseUrl: base, httpVersion: "2", useBinaryFormat: true, interceptors }),
  "grpc-web": createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1", interceptors }),
  "connect-json-api": createConnectTransport({ baseUrl: `${base}/api`, httpVersion: "1.1", interceptors }),
  "connect-json-get": getTransport("connect-json-get", { baseUrl: base, httpVersion: "1.1", useBinaryFormat: false }, interceptors),
  "connect-binary-get-api": getTransport(
    "connect-binary-get-api",
    { baseUrl: `${base}/api`, httpVersion: "2", useBinaryFormat: true },
    interceptors,
  ),
});
const transports = makeTransports([bearer(token)]);

// "NotFound" -> "not_found", the Connect code name the scenario expects.
const codeName = (code) => Code[code].replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();

/** Adapts a typed client to the scenario's proto3 JSON call(method, request). */
function jsonCaller(transport) {
  const client = createClient(RunnerService, transport);
  return async (method, request) => {
    const name = method[0].toLowerCase() + method.slice(1);
    const desc = RunnerService.method[name];
    try {
      const response = await client[name](fromJson(desc.input, request), { timeoutMs: 10_000 });
      return toJson(desc.output, response);
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e;
      throw new RpcError(codeName(e.code), e.rawMessage);
    }
  };
}

/** Per transport: ListRunners without a token and with a wrong one fail with Code.Unauthenticated. */
async function authChecks(report) {
  report.label = "connect-node/auth";
  const cases = [
    ["without a token", makeTransports([])],
    [`with 'Bearer ${WRONG_TOKEN}'`, makeTransports([bearer(WRONG_TOKEN)])],
  ];
  for (const [what, unauthorized] of cases) {
    for (const [name, transport] of Object.entries(unauthorized)) {
      const check = `${name}: ListRunners ${what} gives Code.Unauthenticated`;
      try {
        const got = await createClient(RunnerService, transport).listRunners({}, { timeoutMs: 10_000 });
        report.check(check, false, `got success ${JSON.stringify(toJson(RunnerService.method.listRunners.output, got))}`);
      } catch (e) {
        const detail = e instanceof ConnectError ? `Code.${Code[e.code]}: ${e.rawMessage}` : `${e?.name}: ${e?.message}`;
        report.check(check, e instanceof ConnectError && e.code === Code.Unauthenticated, detail);
      }
    }
  }
}

const report = new Report("connect-node");
for (const [name, transport] of Object.entries(transports)) {
  await runScenario(report, `connect-node/${name}`, jsonCaller(transport));
}
await authChecks(report);

/** The *-get transports sent GetRunner and ListRunners as GET, everything else as POST. */
report.label = "connect-node/get";
for (const name of ["connect-json-get", "connect-binary-get-api"]) {
  const seen = methodsSeen[name] ?? [];
  const wrong = seen.filter((m) => m.startsWith("GET ") !== /^(GET|POST) (GetRunner|ListRunners)$/.test(m));
  report.check(`${name}: GetRunner and ListRunners over GET, the rest over POST`, seen.length > 0 && wrong.length === 0,
    `wrong: ${JSON.stringify(wrong)} of ${JSON.stringify(seen)}`);
  report.check(`${name}: GET was used`, seen.some((m) => m.startsWith("GET ")), JSON.stringify(seen));
}
process.exitCode = report.finish();
