// The console's shell: sign-in (a personal access token, or SSO through the organization's
// identity provider), navigation and a router on the URL fragment (#/runners/ID).

import "./style.css";
import {
  TRANSPORT_LABELS,
  apiBase,
  connect,
  loadSettings,
  markSsoStarted,
  problemOf,
  saveSettings,
  storeToken,
  ssoStarted,
  storedToken,
  transportKind,
  type Api,
  type Settings,
} from "./api";
import { errorBox, field, h } from "./dom";
import { OrganizationRole } from "./gen/gitpod/v1/organization_pb";
import { ResourceRole } from "./gen/gitpod/v1/group_pb";
import { accessTokensPage } from "./pages/access_tokens";
import { auditLogPage } from "./pages/audit_log";
import { invitationsPage, joinPage } from "./pages/invitations";
import { ssoPage } from "./pages/sso";
import { classesPage } from "./pages/classes";
import { contextPage } from "./pages/context";
import { groupPage, groupsPage } from "./pages/groups";
import { policiesPage } from "./pages/policies";
import { membersPage } from "./pages/members";
import { createRunnerPage, runnerPage, runnersPage } from "./pages/runners";
import { scmPage } from "./pages/scm";
import { serviceAccountPage, serviceAccountsPage } from "./pages/service_accounts";
import { tokensPage } from "./pages/tokens";

/** What a page gets: the clients, the fragment's query (#/classes?runner=ID) and navigation. */
export interface Ctx {
  api: Api;
  settings: Settings;
  params: URLSearchParams;
  go(hash: string): void;
  /** Aborted when the page is left (another page is shown): ends the page's watch (src/live.ts). */
  signal: AbortSignal;
  /** Whether the caller is signed in (by token or SSO session), for the pages shown either way. */
  signedIn: boolean;
}

type Page = (ctx: Ctx, ...path: string[]) => Promise<Node>;

const routes: [RegExp, Page][] = [
  [/^\/runners$/, runnersPage],
  [/^\/runners\/new$/, createRunnerPage],
  [/^\/runners\/([0-9a-f-]+)$/, runnerPage],
  [/^\/classes$/, classesPage],
  [/^\/scm$/, scmPage],
  [/^\/policies$/, policiesPage],
  [/^\/groups$/, groupsPage],
  [/^\/groups\/([0-9a-f-]+)$/, groupPage],
  [/^\/context$/, contextPage],
  [/^\/tokens$/, tokensPage],
  [/^\/service-accounts$/, serviceAccountsPage],
  [/^\/service-accounts\/([0-9a-f-]+)$/, serviceAccountPage],
  [/^\/members$/, membersPage],
  [/^\/access-tokens$/, accessTokensPage],
  [/^\/audit-log$/, auditLogPage],
  [/^\/sso$/, ssoPage],
  [/^\/invitations$/, invitationsPage],
];

/** Who may see a link: everyone, organization admins, or those who may read the audit log. */
type Audience = "all" | "admin" | "audit";

const nav: [string, string, Audience?][] = [
  ["#/runners", "Runners"],
  ["#/classes", "Environment classes"],
  ["#/scm", "SCM integrations"],
  ["#/policies", "Runner policies"],
  ["#/groups", "Groups"],
  ["#/tokens", "Host tokens"],
  ["#/service-accounts", "Service accounts"],
  ["#/context", "Context URL"],
  ["#/members", "Members"],
  ["#/access-tokens", "Access tokens"],
  ["#/audit-log", "Audit log", "audit"],
  ["#/sso", "SSO", "admin"],
  ["#/invitations", "Invitations", "admin"],
];

/** How the console is signed in: a personal access token, or the server's SSO session cookie. */
type Auth = { kind: "token"; token: string } | { kind: "session" };

/**
 * Whether the server's session cookie signs this page in: asked once per page load (and again
 * after signing out), by calling GetAuthenticatedIdentity same-origin without a token, when the
 * console has sent this browser to sign in by SSO ([ssoStarted]).
 */
let sessionProbe: Promise<boolean> | null = null;

async function currentAuth(settings: Settings): Promise<Auth | null> {
  const token = storedToken();
  if (token) return { kind: "token", token };
  if (!ssoStarted()) return null;
  sessionProbe ??= connect(settings, null)
    .identity.getAuthenticatedIdentity({})
    .then(
      () => true,
      () => false,
    );
  return (await sessionProbe) ? { kind: "session" } : null;
}

/** What the navigation shows to the signed-in caller. */
interface Access {
  admin: boolean;
  auditLog: boolean;
}

/** The caller's [Access], read once per credential. */
let access: { key: string; value: Promise<Access> } | null = null;

function accessOf(api: Api, auth: Auth): Promise<Access> {
  const key = auth.kind === "token" ? auth.token : "session";
  if (access?.key !== key) access = { key, value: readAccess(api) };
  return access.value;
}

/**
 * Organization admins may manage SSO and invitations and read the audit log; other members read
 * it when a group of theirs holds RESOURCE_ROLE_ORG_AUDIT_LOG_READER on the organization (the
 * server's own rule; ListRoleAssignments' userId filter covers the groups the user is in).
 */
async function readAccess(api: Api): Promise<Access> {
  try {
    const { user } = await api.users.getAuthenticatedUser({});
    const me = user!;
    const own = await api.organizations.listMembers({ organizationId: me.organizationId, filter: { userIds: [me.id] } });
    if (own.members[0]?.role === OrganizationRole.ADMIN) return { admin: true, auditLog: true };
    const readers = await api.groups.listRoleAssignments({
      filter: { userId: me.id, resourceId: me.organizationId, resourceRoles: [ResourceRole.ORG_AUDIT_LOG_READER] },
      pagination: { pageSize: 1 },
    });
    return { admin: false, auditLog: readers.assignments.length > 0 };
  } catch {
    // The pages say what went wrong; the navigation shows what everyone may see.
    return { admin: false, auditLog: false };
  }
}

/** The `sso_error` the server's SSO callback put in the address: shown once on the sign-in screen. */
let ssoError = new URLSearchParams(location.search).get("sso_error");
if (ssoError !== null) {
  const url = new URL(location.href);
  url.searchParams.delete("sso_error");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

const app = document.querySelector<HTMLDivElement>("#app")!;
let rendering = 0;
/** The shown page's: aborted when another render starts. */
let leaving = new AbortController();

function go(hash: string): void {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

async function render(): Promise<void> {
  const current = ++rendering;
  leaving.abort();
  leaving = new AbortController();
  const [path, query] = (location.hash.slice(1) || "/runners").split("?");
  const settings = loadSettings();
  const auth = await currentAuth(settings);
  if (current !== rendering) return;
  const join = /^\/join\/([0-9a-f-]+)$/.exec(path);
  if (join && !auth) {
    // An invite link opened by someone not signed in: the page offers the ways to sign in.
    const ctx: Ctx = { api: connect(settings, null), settings, params: new URLSearchParams(query), go, signal: leaving.signal, signedIn: false };
    const main = h("main", { class: "narrow" }, h("p", { class: "loading" }, "Loading…"));
    app.replaceChildren(main);
    const content = await joinPage(ctx, join[1]).catch((e: unknown) => errorBox(problemOf(e)));
    if (current === rendering) main.replaceChildren(content);
    return;
  }
  if (!auth || path === "/signin") {
    app.replaceChildren(signInPage(settings));
    return;
  }
  const api = connect(settings, auth.kind === "token" ? auth.token : null);
  const allowed = await accessOf(api, auth);
  if (current !== rendering) return;
  const route = join ? ([join, joinPage] as const) : routes.map(([re, page]) => [re.exec(path), page] as const).find(([m]) => m);
  const main = h("main", {}, h("p", { class: "loading" }, "Loading…"));
  app.replaceChildren(shell(settings, path, auth, allowed), main);
  if (!route) {
    main.replaceChildren(h("p", {}, "No such page. ", h("a", { href: "#/runners" }, "Runners")));
    return;
  }
  const [match, page] = route;
  const ctx: Ctx = { api, settings, params: new URLSearchParams(query), go, signal: leaving.signal, signedIn: true };
  let content: Node;
  try {
    content = await page(ctx, ...match!.slice(1));
  } catch (e) {
    const problem = problemOf(e);
    content = h(
      "div",
      {},
      errorBox(problem),
      problem.code === "unauthenticated" && h("p", {}, h("a", { href: "#/signin" }, "Sign in again")),
    );
  }
  if (current === rendering) main.replaceChildren(content);
}

function shell(settings: Settings, path: string, auth: Auth, allowed: Access): HTMLElement {
  const signOut = async () => {
    if (auth.kind === "token") {
      storeToken(null);
    } else {
      // Ends the session on the server, which also clears its cookie.
      // Should that fail, the console keeps asking for the session, so that a reload shows it.
      const ended = await fetch(`${apiBase(settings)}/auth/sso/logout`, { method: "POST", credentials: "same-origin" }).then(
        (res) => res.ok,
        () => false,
      );
      if (ended) markSsoStarted(false);
    }
    sessionProbe = null;
    access = null;
    go("#/signin");
  };
  const shown = (audience: Audience = "all") =>
    audience === "all" || (audience === "admin" ? allowed.admin : allowed.auditLog);
  return h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#/runners" }, "Runner console"),
    h(
      "nav",
      {},
      nav
        .filter(([, , audience]) => shown(audience))
        .map(([href, label]) => h("a", { href, class: path.startsWith(href.slice(1)) ? "active" : null }, label)),
    ),
    h(
      "span",
      { class: "session" },
      h("span", { class: "transport", title: settings.apiUrl, "data-transport": settings.transport }, TRANSPORT_LABELS[settings.transport]),
      h("button", { type: "button", class: "link", onclick: () => void signOut() }, "Sign out"),
    ),
  );
}

function signInPage(settings: Settings): HTMLElement {
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "email", placeholder: "you@example.com" });
  const token = h("input", { name: "token", type: "password", required: true, autocomplete: "off", placeholder: "gpat_…" });
  const apiUrl = h("input", { name: "apiUrl", type: "url", required: true, value: settings.apiUrl });
  const transport = h(
    "select",
    { name: "transport" },
    h("option", { value: "grpc-web", selected: settings.transport === "grpc-web" }, "gRPC-web"),
    h("option", { value: "connect", selected: settings.transport === "connect" }, "Connect (JSON)"),
    h("option", { value: "connect-binary", selected: settings.transport === "connect-binary" }, "Connect (binary)"),
  );
  const chosen = (): Settings => ({ apiUrl: apiUrl.value.trim(), transport: transportKind(transport.value) });

  // Sign in with SSO: the server picks the organization's identity provider by the email's
  // domain and gives its authorization URL; the provider sends the browser back through the
  // server's callback, which sets the session cookie (or puts `sso_error` in the address).
  const ssoErrors = h("div", {});
  if (ssoError !== null) {
    ssoErrors.replaceChildren(
      h("div", { class: "error sso-error", role: "alert", "data-code": "sso" }, h("strong", {}, "Single sign-on failed: "), ssoError),
    );
    ssoError = null;
  }
  const continueSso = h("button", { type: "submit" }, "Continue with SSO");
  const ssoForm = h(
    "form",
    { class: "card signin signin-sso" },
    h("h1", {}, "Sign in"),
    h("p", {}, "With your organization's identity provider, found by your email address's domain."),
    ssoErrors,
    field("Work email", email),
    continueSso,
  );
  ssoForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const settings = chosen();
    continueSso.disabled = true;
    ssoErrors.replaceChildren();
    try {
      const { loginUrl } = await connect(settings, null).accounts.getSSOLoginURL({
        email: email.value.trim(),
        // Back to this console once signed in.
        returnTo: `${location.origin}${location.pathname}`,
      });
      saveSettings(settings);
      storeToken(null);
      markSsoStarted(true);
      location.assign(loginUrl);
    } catch (e) {
      ssoErrors.replaceChildren(errorBox(problemOf(e)));
      continueSso.disabled = false;
    }
  });

  const errors = h("div", {});
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin-token" },
    h("h2", {}, "Personal access token"),
    h("p", {}, "Or paste a personal access token (", h("code", {}, "runner-server admin issue-token"), "). It is kept in this tab's session storage only."),
    errors,
    field("Personal access token", token),
    h(
      "details",
      { open: settings.apiUrl !== location.origin || settings.transport !== "grpc-web" },
      h("summary", {}, "Connection"),
      field("API URL", apiUrl, "Another origin works too: the server allows it through CORS (a token only: the SSO session is this origin's cookie)."),
      field("Transport", transport),
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const settings = chosen();
    submit.disabled = true;
    errors.replaceChildren();
    try {
      // One cheap call proves both the URL and the token.
      await connect(settings, token.value.trim()).runners.listRunners({ pagination: { pageSize: 1 } });
      saveSettings(settings);
      storeToken(token.value.trim());
      go("#/runners");
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    } finally {
      submit.disabled = false;
    }
  });
  return h("main", { class: "narrow" }, ssoForm, form);
}

window.addEventListener("hashchange", () => void render());
void render();
