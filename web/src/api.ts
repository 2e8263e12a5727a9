// The API clients, generated from ../proto by protoc-gen-es, over @connectrpc/connect-web's
// gRPC-web transport, or its Connect transport when the settings say so. The personal access
// token lives in session storage (gone with the tab); the settings in local storage. Signed in
// through SSO, the console holds no token: the server's HttpOnly session cookie authenticates its
// same-origin calls, which then carry no Authorization header.

import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AccountService } from "./gen/gitpod/v1/account_pb";
import { EventService } from "./gen/gitpod/v1/event_pb";
import { GroupService } from "./gen/gitpod/v1/group_pb";
import { IdentityService } from "./gen/gitpod/v1/identity_pb";
import { OrganizationService } from "./gen/gitpod/v1/organization_pb";
import { RunnerService } from "./gen/gitpod/v1/runner_pb";
import { RunnerConfigurationService } from "./gen/gitpod/v1/runner_configuration_pb";
import { ServiceAccountService } from "./gen/gitpod/v1/service_account_pb";
import { UserService } from "./gen/gitpod/v1/user_pb";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb";

export type TransportKind = "grpc-web" | "connect" | "connect-binary";

export interface Settings {
  /** Where the API is: this page's origin, or another one (CORS). */
  apiUrl: string;
  transport: TransportKind;
}

const TOKEN_KEY = "runner-console.token";
const SETTINGS_KEY = "runner-console.settings";

export function loadSettings(): Settings {
  const defaults: Settings = { apiUrl: location.origin, transport: "grpc-web" };
  try {
    const saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") as Partial<Settings>;
    return {
      apiUrl: saved.apiUrl || defaults.apiUrl,
      transport: transportKind(saved.transport),
    };
  } catch {
    return defaults;
  }
}

/** A saved or chosen transport name; anything unknown is gRPC-web. */
export function transportKind(name: unknown): TransportKind {
  return name === "connect" || name === "connect-binary" ? name : "grpc-web";
}

/** How the transport is named on the page. */
export const TRANSPORT_LABELS: Record<TransportKind, string> = {
  "grpc-web": "gRPC-web",
  connect: "Connect",
  "connect-binary": "Connect (binary)",
};

export function saveSettings(settings: Settings): void {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

const SSO_KEY = "runner-console.sso";

/**
 * Whether this browser was sent to sign in by SSO from this console and has not signed out
 * since: only then does the console ask the server whether its session cookie signs it in (a
 * console used with tokens makes no such call).
 */
export function ssoStarted(): boolean {
  return localStorage.getItem(SSO_KEY) === "1";
}

export function markSsoStarted(started: boolean): void {
  if (started) localStorage.setItem(SSO_KEY, "1");
  else localStorage.removeItem(SSO_KEY);
}

export interface Api {
  runners: Client<typeof RunnerService>;
  config: Client<typeof RunnerConfigurationService>;
  identity: Client<typeof IdentityService>;
  groups: Client<typeof GroupService>;
  serviceAccounts: Client<typeof ServiceAccountService>;
  users: Client<typeof UserService>;
  organizations: Client<typeof OrganizationService>;
  /** WatchEvents: server streaming over the same transport (src/live.ts). */
  events: Client<typeof EventService>;
  /** Sign-in by SSO (GetSSOLoginURL, ListLoginProviders), callable without credentials. */
  accounts: Client<typeof AccountService>;
}

/**
 * Clients for the services, calling with `token` as a bearer token; with none, the calls carry
 * no Authorization header and send the cookies of the API's origin when it is this page's (the
 * SSO session cookie), as fetch does for same-origin requests.
 */
export function connect(settings: Settings, token: string | null): Api {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("Authorization", `Bearer ${token}`);
    return next(req);
  };
  const sameOriginCredentials: typeof globalThis.fetch = (input, init) =>
    globalThis.fetch(input, { ...init, credentials: "same-origin" });
  const options = {
    baseUrl: apiBase(settings),
    interceptors: token ? [bearer] : [],
    fetch: sameOriginCredentials,
  };
  // Connect: the NO_SIDE_EFFECTS methods (Get*, List*) go as GET, which browsers and proxies may cache.
  // Both transports stream server responses over fetch (WatchEvents): gRPC-web and Connect's
  // enveloped messages, framed by connect-web.
  const transport =
    settings.transport === "grpc-web"
      ? createGrpcWebTransport(options)
      : createConnectTransport({ ...options, useHttpGet: true, useBinaryFormat: settings.transport === "connect-binary" });
  return {
    runners: createClient(RunnerService, transport),
    config: createClient(RunnerConfigurationService, transport),
    identity: createClient(IdentityService, transport),
    groups: createClient(GroupService, transport),
    serviceAccounts: createClient(ServiceAccountService, transport),
    users: createClient(UserService, transport),
    organizations: createClient(OrganizationService, transport),
    events: createClient(EventService, transport),
    accounts: createClient(AccountService, transport),
  };
}

/** The API URL without a trailing slash: the RPCs and the /auth/sso endpoints are under it. */
export function apiBase(settings: Settings): string {
  return settings.apiUrl.replace(/\/+$/, "");
}

/** A failed call: the Connect code name, the server's message, and the fields it names. */
export interface ApiProblem {
  code: string;
  message: string;
  fields: { field: string; description: string }[];
}

export function problemOf(error: unknown): ApiProblem {
  const e = ConnectError.from(error);
  return {
    // Code.InvalidArgument is "InvalidArgument"; the protocols call it invalid_argument.
    code: Code[e.code].replace(/[A-Z]/g, (c, at: number) => (at ? "_" : "") + c.toLowerCase()),
    message: e.rawMessage,
    fields: e
      .findDetails(BadRequestSchema)
      .flatMap((d) => d.fieldViolations.map((v) => ({ field: v.field, description: v.description }))),
  };
}

/** An enum value's name without its prefix (`RunnerPhase.ACTIVE` is "ACTIVE"). */
export function enumName(values: Record<number, string>, value: number): string {
  return values[value] ?? String(value);
}
