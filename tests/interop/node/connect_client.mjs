// Interop client c: @connectrpc/connect-node v2 with stubs from protoc-gen-es (./gen).
// Usage: node connect_client.mjs http://127.0.0.1:PORT
//
// The shared scenario (scenario.mjs) runs once per transport: Connect JSON over HTTP/1.1,
// Connect binary over h2c, gRPC-web over HTTP/1.1, and Connect JSON again with a baseUrl
// ending in /api.

import { fromJson, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { RunnerService } from "./gen/gitpod/v1/runner_pb.js";
import { Report, RpcError, runScenario } from "./scenario.mjs";

const base = process.argv[2]?.replace(/\/$/, "");
if (!base) {
  console.error("usage: node connect_client.mjs http://127.0.0.1:PORT");
  process.exit(2);
}

const transports = {
  "connect-json": createConnectTransport({ baseUrl: base, httpVersion: "1.1" }),
  "connect-binary": createConnectTransport({ baseUrl: base, httpVersion: "2", useBinaryFormat: true }),
  "grpc-web": createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
  "connect-json-api": createConnectTransport({ baseUrl: `${base}/api`, httpVersion: "1.1" }),
};

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

const report = new Report("connect-node");
for (const [name, transport] of Object.entries(transports)) {
  await runScenario(report, `connect-node/${name}`, jsonCaller(transport));
}
process.exitCode = report.finish();
