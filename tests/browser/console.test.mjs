// The web console (web/) in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against a live runner-server that serves the built console (--console-dir).
//
// For each transport, gRPC-web and Connect: 1. sign in; 2. create a runner and read its id,
// exchange token and agent command; 3. see it first in the list (newest first), search, sort and
// choose the page size; the runner's page while it waits for its process; 4. update its name
// (and a later failed save clears "Saved."); 5. create an environment class from the schema form
// (required fields refuse empty values); 6. see a validation error rendered for a bad value; the
// SCM, policy (role changes confirmed) and context-URL pages; the groups page (create, rename,
// members by name, roles) and sharing from the runner's page; the context page's next step to
// the host tokens page, adding and deleting a token there, and OAuth offered where configured;
// 7. delete the runner; service accounts (create one, create its token shown once with a copy
// button, see it work, delete the token and the account); and a check that every API call of the
// suite used its transport. Two
// runners with one name are told apart in the list and the pickers. One more test per transport
// loads the console from another origin (a static server on another port) and calls the API
// across origins (CORS). The live pages, per transport: the runners list and a runner's page
// follow changes made elsewhere (through the API, and the runner's own Signup and status reports
// with its token) without a reload, over WatchEvents on the console's transport; a failed watch is
// retried with backoff and the list read again. Per transport, the audit log page (an admin sees
// the writes it just made, filters and pages; a plain member is not offered it and is refused)
// and the SSO settings page. Sign-in with SSO through the test OpenID provider's own login page:
// alice@acme.test lands on the runners with the session cookie only and signs out (the session
// ends); bob@other.test is refused with the reason shown; an admin's invite link lets bob in. Then
// every page at 390 px wide, and the pickers and list with more than 100 runners.
//
// Environment (set by run.sh): CONSOLE_URL (the server, which also serves the console), API_TOKEN
// (an admin's personal access token), CONSOLE_DIST (the built console, for the other origin),
// GROUP_ID (a group of the admin's organization, made with `runner-server admin create-group`),
// MEMBER_TOKEN (a token of "Viewer", a plain member; the users "<transport> member" exist too),
// SCREENSHOT (where the runners page's screenshot goes) and OIDC_ISSUER, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET (the test OpenID provider of tests/oidc/ and its client, which may redirect
// to the server's /auth/sso/callback), SECOND_ADMIN_TOKEN (an admin of a second organization,
// "second") and JOINER_TOKENS ("<transport>=<token>" of users of the first who join the second).


import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (run tests/browser/run.sh)`);
  return value;
};
const serverUrl = env("CONSOLE_URL").replace(/\/$/, "");
const adminToken = env("API_TOKEN");
const dist = env("CONSOLE_DIST");
const screenshot = env("SCREENSHOT");
const groupId = env("GROUP_ID");
const memberToken = env("MEMBER_TOKEN");
const oidcIssuer = env("OIDC_ISSUER");
const oidcClientId = env("OIDC_CLIENT_ID");
const oidcClientSecret = env("OIDC_CLIENT_SECRET");
const secondAdminToken = env("SECOND_ADMIN_TOKEN");
/** Per transport, the token of a user of the first organization who joins the second. */
const joinerTokens = Object.fromEntries(env("JOINER_TOKENS").trim().split(/\s+/).map((pair) => pair.split("=")));

// `oauthRunner`: a seeded runner that signed up, on which the transport's tests configure OAuth.
const TRANSPORTS = {
  "grpc-web": { label: "gRPC-web", contentType: "application/grpc-web+proto", streamContentType: "application/grpc-web+proto", provider: "AWS EC2", region: "eu-central-1", oauthRunner: "Iowa GPU pool" },
  // The console's Connect transports have useHttpGet: their NO_SIDE_EFFECTS calls go as Connect GET.
  connect: {
    label: "Connect",
    contentType: "application/json",
    // Server streaming (WatchEvents, the live pages) is enveloped Connect streaming.
    streamContentType: "application/connect+json",
    provider: "Google Cloud",
    region: "europe-west1",
    get: "json",
    oauthRunner: "Mumbai platform team",
  },
  // Binary, with the API URL under /api as the official SDKs call it.
  "connect-binary": {
    label: "Connect (binary)",
    contentType: "application/proto",
    streamContentType: "application/connect+proto",
    provider: "AWS EC2",
    region: "eu-west-1",
    get: "proto",
    apiPath: "/api",
    oauthRunner: "Virginia CI",
  },
};

/** The methods the descriptors mark NO_SIDE_EFFECTS: the ones connect-web sends as GET. */
const SIDE_EFFECT_FREE =
  /\/(GetAuthenticatedIdentity|GetRunner|ListRunners|ListRunnerPolicies|GetRunnerConfigurationSchema|GetEnvironmentClass|ListEnvironmentClasses|GetSCMIntegration|ListSCMIntegrations|GetHostAuthenticationToken|ListHostAuthenticationTokens|GetLLMIntegration|ListLLMIntegrations|ListGroups|GetGroup|ListMemberships|GetMembership|ListRoleAssignments|GetServiceAccount|ListServiceAccounts|GetServiceAccountToken|ListServiceAccountTokens|GetAuthenticatedUser|GetUser|GetPersonalAccessToken|ListPersonalAccessTokens|GetOrganization|ListMembers|ListAuditLogs|GetAuditLog|GetSSOConfiguration|ListSSOConfigurations|GetOrganizationInviteSummary|GetAccount|GetSSOLoginURL|ListLoginProviders|ListJoinableOrganizations)(\?|$)/;

/** The server-streaming methods the console calls: POST with the transport's streaming content type. */
const STREAMING = /\/gitpod\.v1\.EventService\/WatchEvents$/;

/** A call went over the transport: POST with its content type, or a Connect GET (JSON) where it may. */
function assertTransport(call, t) {
  if (STREAMING.test(new URL(call.url).pathname)) {
    assert.equal(call.method, "POST", call.url);
    assert.equal(call.contentType, t.streamContentType, call.url);
    return;
  }
  if (t.apiPath) assert.ok(new URL(call.url).pathname.startsWith(`${t.apiPath}/`), call.url);
  if (t.get && SIDE_EFFECT_FREE.test(call.url)) {
    const query = new URL(call.url).searchParams;
    assert.equal(call.method, "GET", call.url);
    assert.equal(query.get("connect"), "v1", call.url);
    assert.equal(query.get("encoding"), t.get, call.url);
    assert.equal(query.get("base64"), t.get === "proto" ? "1" : null, call.url);
    assert.ok(query.has("message"), call.url);
  } else {
    assert.equal(call.method, "POST", call.url);
    assert.equal(call.contentType, t.contentType, call.url);
  }
}

/** A Connect JSON call, as any API client would make it (used to set up and to cross-check):
 * `Service/Method` of gitpod.v1, or a full `package.Service/Method`. */
async function rpc(method, body, token = adminToken) {
  const path = method.startsWith("runnerside.") ? method : `gitpod.v1.${method}`;
  const response = await fetch(`${serverUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function ok(method, body, token) {
  const { status, body: answer } = await rpc(method, body, token);
  assert.equal(status, 200, `${method}: ${JSON.stringify(answer)}`);
  return answer;
}

/**
 * Eleven runners, so that the list has a second page, in the phases real ones are in: the
 * ACTIVE and DEGRADED ones exchange their token, sign up and report, as runner-agent does.
 */
async function seedRunners() {
  const seeds = [
    ["Frankfurt build fleet", "AWS_EC2", "eu-central-1", "ACTIVE"],
    ["Iowa GPU pool", "GCP", "us-central1", "ACTIVE"],
    ["Dublin staging", "AWS_EC2", "eu-west-1", "DEGRADED"],
    ["Tokyo edge", "AWS_EC2", "ap-northeast-1", null],
    ["Belgium data science", "GCP", "europe-west1", "ACTIVE", "europe-west4"],
    ["Virginia CI", "AWS_EC2", "us-east-1", "ACTIVE"],
    ["Sydney sandbox", "AWS_EC2", "ap-southeast-2", null],
    ["London release", "GCP", "europe-west2", "DEGRADED"],
    ["Oregon load tests", "AWS_EC2", "us-west-2", null],
    ["Mumbai platform team", "GCP", "asia-south1", "ACTIVE"],
    ["São Paulo pilot", "AWS_EC2", "sa-east-1", null],
  ];
  for (const [name, provider, region, phase, reported = region] of seeds) {
    const created = await ok("RunnerService/CreateRunner", {
      name,
      provider: `RUNNER_PROVIDER_${provider}`,
      spec: { configuration: { region } },
    });
    if (!phase) continue;
    const runnerId = created.runner.runnerId;
    const { accessToken } = await ok("IdentityService/ExchangeToken", { exchangeToken: created.exchangeToken }, "");
    await ok(
      "runnerside.v1.RunnerInteractionService/Signup",
      { runnerId, publicKey: randomBytes(32).toString("base64"), version: "2025.11.3", region: reported, systemDetails: "seeded by the browser tests" },
      accessToken,
    );
    await ok(
      "runnerside.v1.RunnerInteractionService/UpdateRunnerStatus",
      { runnerId, phase: `RUNNER_PHASE_${phase}`, message: phase === "DEGRADED" ? "1 of 3 hosts unreachable" : "" },
      accessToken,
    );
  }
}

/** The id of the (only) runner named `name`. */
async function runnerNamed(name) {
  let token = "";
  for (;;) {
    const page = await ok("RunnerService/ListRunners", { pagination: { pageSize: 100, token } });
    const found = page.runners.find((r) => r.name === name);
    if (found) return found.runnerId;
    token = page.pagination?.nextToken;
    assert.ok(token, `a runner named ${name}`);
  }
}

/** The built console on another origin: a static server with the SPA fallback, no API. */
function serveConsoleElsewhere() {
  const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    const file = path === "/" || !extname(path) ? "/index.html" : path;
    try {
      const body = await readFile(join(dist, file));
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

let browser;

before(async () => {
  await seedRunners();
  // A fresh, throw-away profile per launch (Playwright makes one); Debian's Chromium, never a
  // downloaded one.
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-quic",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

/** A page that records the API calls it makes (promises of them) and its script errors. */
async function openPage(origin, viewport = { width: 1280, height: 600 }) {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const calls = [];
  const scriptErrors = [];
  page.on("request", (request) => {
    if (request.url().includes("/gitpod.v1.")) {
      // allHeaders: the headers as sent, Origin included.
      const url = request.url();
      const method = request.method();
      // Headers still unread when the context closes (a watch the page had open) reject: no
      // test awaits those, and a test that does sees no content type and fails on it.
      calls.push(
        request.allHeaders().then(
          (headers) => ({ url, method, contentType: headers["content-type"], origin: headers.origin }),
          (error) => ({ url, method, contentType: undefined, origin: undefined, error: String(error) }),
        ),
      );
    }
  });
  page.on("pageerror", (error) => scriptErrors.push(String(error)));
  return { context, page, calls, scriptErrors };
}

/** Waits until `check` holds, for at most 5 s. */
async function eventually(check, what) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`never came true: ${what}`);
}

/** Fills the sign-in form (connection settings too) and submits it. */
async function signIn(page, origin, transport, apiUrl, token = adminToken) {
  await page.goto(`${origin}/`);
  await page.locator("details").evaluate((d) => {
    d.open = true;
  });
  await page.locator('input[name="apiUrl"]').fill(apiUrl);
  await page.locator('select[name="transport"]').selectOption(transport);
  await page.locator('input[name="token"]').fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** A full load of the console at `hash` (the token stays: session storage is per tab). */
async function visit(page, hash) {
  await page.goto(`${new URL(page.url()).origin}/#${hash}`);
  await page.reload();
}

const runnersHeading = (page) => page.getByRole("heading", { name: "Runners", exact: true });

/** Creates a runner through the form; returns its id and the exchange token shown once. */
async function createRunner(page, name, { provider, region }) {
  await page.getByRole("link", { name: "New runner" }).click();
  await page.locator('input[name="name"]').fill(name);
  await page.locator('select[name="provider"]').selectOption({ label: provider });
  await page.locator('input[name="region"]').fill(region);
  await page.getByRole("button", { name: "Create runner" }).click();
  const exchangeToken = (await page.locator("#exchange-token").textContent()).trim();
  const href = await page.getByRole("link", { name: `Open ${name}` }).getAttribute("href");
  return { runnerId: href.replace("#/runners/", ""), exchangeToken };
}

/** Goes through the runners list page by page until `name` is there; returns its row. */
async function findInList(page, name) {
  await visit(page, "/runners");
  await page.locator("table.runners tbody tr").first().waitFor();
  for (;;) {
    const row = page.locator("table.runners tbody tr", { hasText: name });
    if ((await row.count()) > 0) return row;
    const next = page.locator('button[data-page="next"]');
    if (await next.isDisabled()) return null;
    const label = await page.locator(".page-number").textContent();
    await next.click();
    await page.locator(".page-number", { hasNotText: label }).waitFor();
  }
}

async function deleteThroughDialog(page, runnerId) {
  await visit(page, `/runners/${runnerId}`);
  await page.getByRole("button", { name: "Delete runner" }).click();
  await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
  await runnersHeading(page).waitFor();
}

for (const [transport, t] of Object.entries(TRANSPORTS)) {
  describe(`console over ${t.label}`, () => {
    const name = `Browser runner ${transport} ${Date.now()}`;
    const renamed = `${name} renamed`;
    let s;
    let runnerId;

    before(async () => {
      s = await openPage(serverUrl);
    });
    after(async () => {
      await s.context.close();
    });

    test("1. sign in with a personal access token (a wrong one shows unauthenticated)", async () => {
      const { page } = s;
      await signIn(page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`, "gpat_not-a-real-token");
      const error = page.locator(".error");
      await error.waitFor();
      assert.equal(await error.getAttribute("data-code"), "unauthenticated");
      assert.ok((await error.locator(".message").textContent()).length > 0, "the message is shown");

      await page.locator('input[name="token"]').fill(adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await runnersHeading(page).waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem("runner-console.token")), adminToken);
      assert.equal(await page.locator(".transport").textContent(), t.label);
    });

    test("2. create a runner and read its id, exchange token and agent command, shown once with copy buttons", async () => {
      const { page } = s;
      const created = await createRunner(page, name, t);
      runnerId = created.runnerId;
      assert.match(created.exchangeToken, /^gpx_[A-Za-z0-9_-]{20,}$/);
      assert.equal(await page.locator(".token-panel code.runner-id").textContent(), runnerId);
      await page.getByRole("button", { name: "Copy", exact: true }).click();
      await page.getByRole("button", { name: "Copied" }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), created.exchangeToken);
      // The command that starts the runner's process, with the API URL the console uses.
      const command = `runner-agent --api-url ${serverUrl}${t.apiPath ?? ""} --runner-id ${runnerId} --exchange-token ${created.exchangeToken}`;
      assert.equal(await page.locator("#agent-command").textContent(), command);
      await page.getByRole("button", { name: "Copy command" }).click();
      await page.locator('[data-copy="agent-command"]', { hasText: "Copied" }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), command);
      // It is the real token: a runner process redeems it for its access token.
      const exchanged = await ok("IdentityService/ExchangeToken", { exchangeToken: created.exchangeToken }, "");
      const me = await ok("IdentityService/GetAuthenticatedIdentity", {}, exchanged.accessToken);
      assert.deepEqual(me.subject, { id: runnerId, principal: "PRINCIPAL_RUNNER" });
    });

    test("3. the list shows the newest runner first, searches by name, sorts and pages by the chosen size", async () => {
      const { page } = s;
      await visit(page, "/runners");
      const rows = page.locator("table.runners tbody tr");
      await rows.first().waitFor();
      if (transport === "grpc-web") {
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      // Newest first: the runner just created leads page 1.
      assert.equal(await rows.first().getAttribute("data-runner-id"), runnerId);
      assert.equal(await rows.first().locator(".badge").textContent(), "CREATED");
      assert.equal(await page.locator(".page-number").textContent(), "Page 1 of 1", "25 a page by default");
      const total = await rows.count();
      assert.ok(total > 10, `${total} runners`);
      // Ten a page: two pages, the second holding the rest.
      await page.locator('select[name="pageSize"]').selectOption("10");
      assert.equal(await rows.count(), 10);
      assert.equal(await page.locator(".page-number").textContent(), `Page 1 of ${Math.ceil(total / 10)}`);
      await page.locator('button[data-page="next"]').click();
      await page.locator(".page-number", { hasText: "Page 2" }).waitFor();
      // Oldest first: the first seeded runner; by name: alphabetical.
      await page.locator('select[name="sort"]').selectOption("oldest");
      assert.equal(await rows.first().locator("a").textContent(), "Frankfurt build fleet");
      await page.locator('select[name="sort"]').selectOption("name");
      const names = await page.locator("table.runners tbody tr td:first-child a").allTextContents();
      assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
      // A search by part of the name, whatever its case; the choices stay in the address.
      await page.locator('input[name="search"]').fill("BELGIUM");
      assert.equal(await rows.count(), 1);
      // Configured in europe-west1, the runner reports europe-west4: both are shown.
      assert.equal(await rows.first().locator("td.region").textContent(), "europe-west1 (reports europe-west4)");
      assert.match(page.url(), /#\/runners\?q=BELGIUM&sort=name&size=10$/);
      await page.reload();
      await rows.first().waitFor();
      assert.equal(await page.locator('input[name="search"]').inputValue(), "BELGIUM");
      assert.equal(await rows.count(), 1);
      await page.locator('input[name="search"]').fill("no such runner");
      assert.equal(await page.locator("table.runners td.empty").textContent(), "No runner's name matches.");
    });

    test("a runner that waits for its process says how to start it, with a new exchange token", async () => {
      const { page } = s;
      await visit(page, `/runners/${runnerId}`);
      const waiting = page.locator(".waiting");
      await waiting.getByRole("heading", { name: "Waiting for its runner process" }).waitFor();
      assert.equal(
        await waiting.locator("pre.command").textContent(),
        `runner-agent --api-url ${serverUrl}${t.apiPath ?? ""} --runner-id ${runnerId} --exchange-token EXCHANGE_TOKEN`,
      );
      await page.getByRole("button", { name: "New exchange token" }).click();
      const command = await page.locator("#agent-command").textContent();
      const token = (await page.locator("#exchange-token").textContent()).trim();
      assert.equal(command, `runner-agent --api-url ${serverUrl}${t.apiPath ?? ""} --runner-id ${runnerId} --exchange-token ${token}`);
      assert.equal(await page.locator(".waiting").count(), 0, "the panel replaces the waiting note");
      const exchanged = await ok("IdentityService/ExchangeToken", { exchangeToken: token }, "");
      assert.ok(exchanged.accessToken.startsWith("gpr_"));
      // A runner that signed up shows no such note.
      await visit(page, `/runners/${await runnerNamed(t.oauthRunner)}`);
      await page.locator("h1.runner-name").waitFor();
      assert.equal(await page.locator(".waiting").count(), 0);
    });

    test("4. update its name", async () => {
      const { page } = s;
      await visit(page, `/runners/${runnerId}`);
      await page.locator('input[name="name"]').fill(renamed);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Saved.").waitFor();
      assert.equal(await page.locator("h1.runner-name").textContent(), renamed);
      const { runner } = await ok("RunnerService/GetRunner", { runnerId });
      assert.equal(runner.name, renamed);
      // A later save that fails shows its error, and "Saved." no longer.
      await page.locator('input[name="name"]').fill("ab");
      await page.getByRole("button", { name: "Save" }).click();
      await page.locator("form .error").waitFor();
      assert.equal(await page.getByText("Saved.").count(), 0);
      assert.equal((await ok("RunnerService/GetRunner", { runnerId })).runner.name, renamed);
    });

    test("5. create an environment class from the schema form, then disable and enable it", async () => {
      const { page } = s;
      await visit(page, `/runners/${runnerId}`);
      await page.locator("p.links").getByRole("link", { name: "Environment classes" }).click();
      const form = page.locator("form.create-class");
      // The fields come from GetRunnerConfigurationSchema: AWS EC2 and GCP runners differ.
      const [kindKey, kindValue] = t.provider === "AWS EC2" ? ["instanceType", "m6i.2xlarge"] : ["machineType", "e2-standard-8"];
      await form.locator(`select[name="${kindKey}"]`).selectOption(kindValue);
      await form.locator('input[name="displayName"]').fill(`Large (${t.label})`);
      await form.locator('input[name="description"]').fill("Eight vCPUs for big builds");
      await form.locator('input[name="diskSizeGb"]').fill("200");
      await form.getByRole("button", { name: "Create environment class" }).click();
      const row = page.locator("table.classes tbody tr", { hasText: `Large (${t.label})` });
      await row.waitFor();
      assert.match(await row.textContent(), new RegExp(`${kindKey}=${kindValue.replace(/\./g, "\\.")}`));
      assert.match(await row.textContent(), /diskSizeGb=200/);
      assert.equal(await row.locator(".badge").textContent(), "Enabled");

      await row.getByRole("button", { name: "Disable" }).click();
      await row.locator(".badge", { hasText: "Disabled" }).waitFor();
      const listed = await ok("RunnerConfigurationService/ListEnvironmentClasses", { filter: { runnerIds: [runnerId] } });
      assert.equal(listed.environmentClasses[0].enabled ?? false, false);
      await row.getByRole("button", { name: "Enable" }).click();
      await row.locator(".badge", { hasText: "Enabled" }).waitFor();
    });

    test("6. required fields refuse empty values; a bad value is rejected by the server and its error rendered", async () => {
      const { page } = s;
      await visit(page, `/classes?runner=${runnerId}`);
      const form = page.locator("form.create-class");
      // Fields marked * (the name, the description, the schema's required fields) must be filled.
      const nameLabel = form.locator('[data-field="displayName"] .label');
      assert.equal(await nameLabel.textContent(), "Name *");
      await form.locator('input[name="displayName"]').fill("");
      await form.locator('input[name="description"]').fill("Something");
      await form.getByRole("button", { name: "Create environment class" }).click();
      assert.equal(await form.locator(".error").getAttribute("data-code"), "required");
      assert.equal(await form.locator('[data-field="displayName"] .field-error').textContent(), "is required");
      const required = form.locator(".schema-fields select[required], .schema-fields input[required]").first();
      const requiredName = await required.getAttribute("name");
      assert.notEqual(await required.inputValue(), "", `${requiredName} starts at its default`);
      assert.match(await form.locator(`[data-field="configuration.${requiredName}"] .label`).textContent(), / \*$/);
      await required.evaluate((e) => {
        e.value = "";
      });
      await form.locator('input[name="displayName"]').fill("Named");
      await form.getByRole("button", { name: "Create environment class" }).click();
      assert.equal(await form.locator(`[data-field="configuration.${requiredName}"] .field-error`).textContent(), "is required");
      const none = await ok("RunnerConfigurationService/ListEnvironmentClasses", { filter: { runnerIds: [runnerId] } });
      assert.equal(none.environmentClasses.length, 1, "nothing was sent");
      await visit(page, `/classes?runner=${runnerId}`);
      await form.locator('input[name="displayName"]').fill("Tiny disk");
      await form.locator('input[name="description"]').fill("Too small to be allowed");
      await form.locator('input[name="diskSizeGb"]').fill("5");
      await form.getByRole("button", { name: "Create environment class" }).click();
      const error = form.locator(".error");
      await error.waitFor();
      assert.equal(await error.getAttribute("data-code"), "invalid_argument");
      assert.equal(await error.locator(".code").textContent(), "invalid_argument");
      assert.match(await error.locator(".message").textContent(), /configuration\.diskSizeGb: must be between 20 and 2000, got 5/);
      // The google.rpc.BadRequest detail marks the field itself.
      const marked = form.locator('[data-field="configuration.diskSizeGb"] .field-error');
      assert.equal(await marked.textContent(), "must be between 20 and 2000, got 5");
      const listed = await ok("RunnerConfigurationService/ListEnvironmentClasses", { filter: { runnerIds: [runnerId] } });
      assert.equal(listed.environmentClasses.length, 1, "nothing was created");
    });

    test("SCM integrations, runner policies (role changes confirmed) and the context-URL box", async () => {
      const { page } = s;
      await visit(page, `/scm?runner=${runnerId}`);
      await page.locator('select[name="scmId"]').selectOption("github");
      assert.equal(await page.locator('input[name="host"]').inputValue(), "github.com");
      // No runner process signed up yet: no callback URL to register yet.
      assert.match(await page.locator(".oauth-hint").textContent(), /known once the runner's process has signed up/);
      await page.getByRole("button", { name: "Create integration" }).click();
      await page.locator("tbody tr", { hasText: "github.com" }).waitFor();

      await visit(page, `/policies?runner=${runnerId}`);
      await page.getByText("No policies").waitFor();
      // No group chosen: refused in the browser.
      await page.getByRole("button", { name: "Grant" }).click();
      const policyError = page.locator(".error");
      await policyError.waitFor();
      assert.equal(await policyError.getAttribute("data-code"), "required");
      // Groups are picked by name, from ListGroups: the organization's own and the one run.sh made.
      const groupPicker = page.locator('select[name="groupId"]');
      const options = await groupPicker.locator("option").evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
      const { groups } = await ok("GroupService/ListGroups", {});
      assert.deepEqual(
        options.filter(([value]) => value).map(([value]) => value).sort(),
        groups.map((g) => g.id).sort(),
        "one option per group",
      );
      const platformLabel = options.find(([value]) => value === groupId)[1];
      assert.match(platformLabel, /^Platform team \(0 members\)$/);
      assert.ok(options.some(([, label]) => /^org-members \(\d+ members?\)$/.test(label)), JSON.stringify(options));
      // A real group, chosen by its name (its id shown small): granted USER; a change of role
      // asks first, and Cancel changes nothing.
      await groupPicker.selectOption({ label: platformLabel });
      assert.equal(await page.locator("[data-chosen-group]").textContent(), groupId);
      await page.getByRole("button", { name: "Grant" }).click();
      const role = page.locator(`tr[data-group-id="${groupId}"] select[name="role"]`);
      await role.waitFor();
      const granted = await page.locator(`tr[data-group-id="${groupId}"] .group-name`).textContent();
      assert.equal(granted, `Platform team ${groupId}`, "the table names the group, its id beside it");
      const policyRole = async () =>
        (await ok("RunnerService/ListRunnerPolicies", { runnerId })).policies.find((p) => p.groupId === groupId).role;
      assert.equal(await policyRole(), "RUNNER_ROLE_USER");
      await role.selectOption({ label: "ADMIN" });
      const dialog = page.locator("dialog.confirm");
      assert.match(await dialog.textContent(), /group Platform team's role on this runner from USER to ADMIN\?/);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      const roleSelector = `tr[data-group-id="${groupId}"] select[name="role"]`;
      await page.waitForFunction((selector) => document.querySelector(selector).value === "2", roleSelector); // back to USER
      assert.equal(await policyRole(), "RUNNER_ROLE_USER");
      await role.selectOption({ label: "ADMIN" });
      await dialog.getByRole("button", { name: "Change role" }).click();
      await page.waitForFunction(() => !document.querySelector("dialog.confirm"));
      for (let i = 0; i < 50 && (await policyRole()) !== "RUNNER_ROLE_ADMIN"; i++) await page.waitForTimeout(100);
      assert.equal(await policyRole(), "RUNNER_ROLE_ADMIN");

      await visit(page, `/context?runner=${runnerId}`);
      await page.locator('input[name="contextUrl"]').fill("https://github.com/gitpod-io/gitpod/pull/1");
      await page.getByRole("button", { name: "Parse" }).click();
      const contextError = page.locator(".error");
      await contextError.waitFor();
      // No host token for github.com yet: the server says so, and the console shows it…
      assert.equal(await contextError.getAttribute("data-code"), "failed_precondition");
      assert.match(await contextError.locator(".message").textContent(), /authentication with github\.com is required/);
      // …with the next step: a personal access token (no OAuth on this integration).
      const next = page.locator(".next-step");
      await next.waitFor();
      assert.equal(await next.locator("a.oauth-step").count(), 0);
      await next.getByRole("link", { name: "Add a personal access token" }).click();

      // The host tokens page, for this runner and host: add one, see it, delete it.
      const form = page.locator("form.add-token");
      await form.waitFor();
      assert.equal(await form.locator('select[name="runner"]').inputValue(), runnerId);
      assert.equal(await form.locator('select[name="host"]').inputValue(), "github.com");
      const patLink = form.locator("a.pat-link");
      assert.ok((await patLink.getAttribute("href")).startsWith("https://github.com/settings/tokens/new?"));
      await form.getByRole("button", { name: "Add token" }).click();
      assert.equal(await form.locator('[data-field="token"] .field-error').textContent(), "is required");
      await form.locator('input[name="token"]').fill(`ghp_console_${transport}_token`);
      await form.getByRole("button", { name: "Add token" }).click();
      const tokenRow = page.locator("table.host-tokens tbody tr", { hasText: "github.com" });
      await tokenRow.waitFor();
      assert.match(await tokenRow.textContent(), /PAT/);
      assert.ok(!(await page.content()).includes(`ghp_console_${transport}_token`), "the token is not shown again");
      const mine = await ok("RunnerConfigurationService/ListHostAuthenticationTokens", { filter: { runnerId } });
      assert.equal(mine.tokens.length, 1);
      await tokenRow.getByRole("button", { name: "Delete" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await page.getByText("You have no host tokens yet.").waitFor();
      assert.equal((await ok("RunnerConfigurationService/ListHostAuthenticationTokens", { filter: { runnerId } })).tokens?.length ?? 0, 0);
    });

    test("OAuth, where an integration offers it: the context page, the host tokens page and the callback URL", async () => {
      const { page } = s;
      const oauthRunner = await runnerNamed(t.oauthRunner);
      // The runner signed up (it has a public key), so OAuth can be configured.
      await ok("RunnerConfigurationService/CreateSCMIntegration", {
        runnerId: oauthRunner,
        scmId: "github",
        host: "github.com",
        pat: true,
        oauthClientId: `console-client-${transport}`,
        oauthPlaintextClientSecret: "console-client-secret",
      });
      await visit(page, `/context?runner=${oauthRunner}`);
      await page.locator('input[name="contextUrl"]').fill("https://github.com/gitpod-io/gitpod/tree/main");
      await page.getByRole("button", { name: "Parse" }).click();
      const oauth = page.locator(".next-step a.oauth-step");
      await oauth.waitFor();
      const href = await oauth.getAttribute("href");
      assert.ok(href.startsWith(`https://github.com/login/oauth/authorize?client_id=console-client-${transport}&`), href);
      assert.match(href, /&state=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      assert.equal(await page.locator(".next-step a.pat-step").getAttribute("href"), `#/tokens?runner=${oauthRunner}&host=github.com`);
      await visit(page, `/tokens?runner=${oauthRunner}&host=github.com`);
      await page.locator("form.add-token a.oauth-link").waitFor();
      // The SCM page shows the runner's callback URL, for the OAuth application.
      await visit(page, `/scm?runner=${oauthRunner}`);
      await page.locator('select[name="scmId"]').selectOption("github");
      assert.match(await page.locator(".callback-url").textContent(), /\/auth\/github\/callback/);
    });

    test("groups: create, rename, members by name, roles; the runner shared with a group and a service account", async () => {
      const { page } = s;
      const groupName = `Browser group ${transport}`;
      await visit(page, "/groups");
      await page.locator("table.groups tbody tr", { hasText: "org-members" }).waitFor();
      // A name the server refuses: its error, on its field.
      const create = page.locator("form.create-group");
      await create.locator('input[name="name"]').fill("ab");
      await create.getByRole("button", { name: "Create group" }).click();
      const refused = create.locator(".error");
      await refused.waitFor();
      assert.equal(await refused.getAttribute("data-code"), "invalid_argument");
      await create.locator('input[name="name"]').fill(groupName);
      await create.locator('input[name="description"]').fill("made in the browser");
      await create.getByRole("button", { name: "Create group" }).click();
      await page.getByRole("heading", { name: groupName, exact: true }).waitFor();
      const newGroupId = page.url().split("#/groups/")[1];
      assert.equal((await ok("GroupService/GetGroup", { id: newGroupId })).group.description, "made in the browser");
      // Renamed.
      await page.locator('form.edit-group input[name="name"]').fill(`${groupName} renamed`);
      await page.locator("form.edit-group").getByRole("button", { name: "Save" }).click();
      await page.getByRole("heading", { name: `${groupName} renamed`, exact: true }).waitFor();
      assert.equal((await ok("GroupService/GetGroup", { id: newGroupId })).group.name, `${groupName} renamed`);

      // Members, picked by name: a user and a service account; one removed after a confirmation.
      const addMember = async (label) => {
        await page.locator('form.add-member select[name="member"]').selectOption({ label });
        await page.locator("form.add-member").getByRole("button", { name: "Add member" }).click();
      };
      await addMember("Dana Browser (user)");
      await page.locator("table.members tbody tr", { hasText: "Dana Browser" }).waitFor();
      await addMember("ci-bot (service account)");
      await page.locator("table.members tbody tr", { hasText: "ci-bot" }).waitFor();
      const listed = await ok("GroupService/ListMemberships", { groupId: newGroupId });
      assert.deepEqual(listed.members.map((m) => m.name).sort(), ["Dana Browser", "ci-bot"]);
      await page.locator("table.members tbody tr", { hasText: "ci-bot" }).getByRole("button", { name: "Remove" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Remove" }).click();
      await page.locator("table.members tbody tr", { hasText: "ci-bot" }).waitFor({ state: "detached" });
      assert.deepEqual((await ok("GroupService/ListMemberships", { groupId: newGroupId })).members.map((m) => m.name), ["Dana Browser"]);

      // Roles: on the organization, and on this runner (which is its runner policy).
      await page.locator('select[name="orgRole"]').selectOption({ label: "ORG_AUDIT_LOG_READER" });
      await page.getByRole("button", { name: "Grant on the organization" }).click();
      await page.locator("table.roles tbody tr", { hasText: "ORG_AUDIT_LOG_READER" }).waitFor();
      await page.locator('form.grant-runner-role select[name="runner"]').selectOption(runnerId);
      await page.locator('select[name="runnerRole"]').selectOption({ label: "RUNNER_USER" });
      await page.getByRole("button", { name: "Grant on the runner" }).click();
      await page.locator("table.roles tbody tr", { hasText: "RUNNER_USER" }).waitFor();
      const policies = (await ok("RunnerService/ListRunnerPolicies", { runnerId })).policies;
      assert.ok(policies.some((p) => p.groupId === newGroupId && p.role === "RUNNER_ROLE_USER"), JSON.stringify(policies));

      // The runner's page shows who it is shared with; shared with ci-bot directly, then unshared.
      await visit(page, `/runners/${runnerId}`);
      await page.locator("table.sharing tbody tr", { hasText: `${groupName} renamed` }).waitFor();
      await page.locator('form.share-principal select[name="principal"]').selectOption({ label: "ci-bot (service account)" });
      await page.locator('select[name="shareRole"]').selectOption({ label: "RUNNER_ADMIN" });
      await page.locator("form.share-principal").getByRole("button", { name: "Share" }).click();
      const shared = page.locator("table.sharing tbody tr", { hasText: "ci-bot" });
      await shared.waitFor();
      assert.equal(await shared.locator(".role").textContent(), "RUNNER_ADMIN");
      const direct = await ok("GroupService/ListGroups", { filter: { directShare: true } });
      assert.equal(direct.groups.length, 1, "one direct-share group, for ci-bot");
      await shared.getByRole("button", { name: "Unshare" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Unshare" }).click();
      await page.locator("table.sharing tbody tr", { hasText: "ci-bot" }).waitFor({ state: "detached" });
      assert.equal((await ok("GroupService/ListGroups", { filter: { directShare: true } })).groups?.length ?? 0, 0);

      // Deleted after a confirmation: its role on the runner goes with it.
      await visit(page, `/groups/${newGroupId}`);
      await page.getByRole("button", { name: "Delete group" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await page.getByRole("heading", { name: "Groups", exact: true }).waitFor();
      assert.equal((await rpc("GroupService/GetGroup", { id: newGroupId })).body.code, "not_found");
      const left = (await ok("RunnerService/ListRunnerPolicies", { runnerId })).policies ?? [];
      assert.ok(!left.some((p) => p.groupId === newGroupId), JSON.stringify(left));
    });

    test("7. delete the runner, after a confirmation", async () => {
      const { page } = s;
      await visit(page, `/runners/${runnerId}`);
      await page.getByRole("button", { name: "Delete runner" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
      assert.equal((await rpc("RunnerService/GetRunner", { runnerId })).status, 200, "cancel keeps it");

      await deleteThroughDialog(page, runnerId);
      assert.equal(await findInList(page, renamed), null, "gone from the list");
      const gone = await rpc("RunnerService/GetRunner", { runnerId });
      assert.equal(gone.body.code, "not_found");
    });

    test("service accounts: create one, create its token (shown once, copied, and it works), delete both", async () => {
      const { page } = s;
      const botName = `Browser bot ${transport} ${Date.now()}`;
      await visit(page, "/service-accounts");
      await page.getByRole("heading", { name: "Service accounts" }).waitFor();
      // Required fields are refused empty in the browser.
      await page.getByRole("button", { name: "Create service account" }).click();
      await page.locator('form.create-service-account .error[data-code="required"]').waitFor();
      await page.locator('form.create-service-account input[name="name"]').fill(botName);
      await page.locator('form.create-service-account input[name="description"]').fill("Deploys from CI");
      await page.getByRole("button", { name: "Create service account" }).click();
      await page.locator("h1.service-account-name", { hasText: botName }).waitFor();
      const accountId = (await page.locator("code.service-account-id").textContent()).trim();
      const account = await ok("ServiceAccountService/GetServiceAccount", { serviceAccountId: accountId });
      assert.equal(account.serviceAccount.description, "Deploys from CI");
      assert.ok(account.serviceAccount.validUntil, "valid until the day chosen");

      await page.locator('form.create-token input[name="description"]').fill("CI deploys");
      await page.locator('form.create-token input[name="validForDays"]').fill("30");
      await page.getByRole("button", { name: "Create token" }).click();
      const value = (await page.locator("#service-account-token").textContent()).trim();
      assert.match(value, /^gpat_/);
      await page.locator('[data-copy="service-account-token"]').click();
      await page.locator('[data-copy="service-account-token"]', { hasText: "Copied" }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
      // It is the account's token; the one-hour token the console acted with is gone.
      const me = await ok("IdentityService/GetAuthenticatedIdentity", {}, value);
      assert.deepEqual(me.subject, { id: accountId, principal: "PRINCIPAL_SERVICE_ACCOUNT" });
      const rows = page.locator("table.service-account-tokens tbody tr");
      await rows.filter({ hasText: "CI deploys" }).waitFor();
      assert.equal(await rows.count(), 1, "only the new token");
      const listed = await ok("ServiceAccountService/ListServiceAccountTokens", {}, value);
      assert.deepEqual(listed.tokens.map((t) => t.description), ["CI deploys"]);

      // Deleting the token: it stops working.
      await rows.filter({ hasText: "CI deploys" }).getByRole("button", { name: "Delete" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await page.locator("table.service-account-tokens td.empty").waitFor();
      assert.equal((await rpc("IdentityService/GetAuthenticatedIdentity", {}, value)).status, 401);

      // The list shows the account; deleting it there, after a confirmation.
      await visit(page, "/service-accounts");
      const row = page.locator(`table.service-accounts tr[data-service-account-id="${accountId}"]`);
      await row.waitFor();
      assert.match(await row.textContent(), /Deploys from CI/);
      await row.getByRole("button", { name: "Delete" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await row.waitFor({ state: "detached" });
      const gone = await rpc("ServiceAccountService/GetServiceAccount", { serviceAccountId: accountId });
      assert.equal(gone.body.code, "not_found");
    });

    test(`every API call went over ${t.label}, without script errors`, async () => {
      const calls = await Promise.all(s.calls);
      assert.ok(calls.length >= 20, `${calls.length} calls`);
      for (const call of calls) assertTransport(call, t);
      if (t.get) assert.ok(calls.some((c) => c.method === "GET"), "some calls went as GET");
      assert.deepEqual(s.scriptErrors, []);
    });
  });
}

/**
 * For a describe block over transport `t`: a page signed in as the admin before its tests (the
 * object is filled then); after them, every call it made went over `t`, without script errors.
 */
function adminPage(transport, t) {
  const s = {};
  before(async () => {
    Object.assign(s, await openPage(serverUrl));
    await signIn(s.page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`);
    await runnersHeading(s.page).waitFor();
  });
  after(async () => {
    for (const call of await Promise.all(s.calls)) assertTransport(call, t);
    assert.deepEqual(s.scriptErrors, []);
    await s.context.close();
  });
  return s;
}

for (const [transport, t] of Object.entries(TRANSPORTS)) {
  describe(`members and access tokens over ${t.label}`, () => {
    const s = adminPage(transport, t);

    test("access tokens: create one (the value once, copyable, and it works), list it, delete it", async () => {
      const { page } = s;
      const description = `browser ${transport} ${randomBytes(3).toString("hex")}`;
      await visit(page, "/access-tokens");
      await page.getByRole("heading", { name: "Access tokens" }).waitFor();
      await page.locator('input[name="description"]').fill(description);
      await page.locator('select[name="expiry"]').selectOption("7");
      await page.getByRole("button", { name: "Create token" }).click();
      const value = (await page.locator("#new-access-token").textContent()).trim();
      assert.match(value, /^gpat_[A-Za-z0-9_-]{20,}$/);
      await page.locator('[data-copy="new-access-token"]').click();
      await page.locator('[data-copy="new-access-token"]', { hasText: "Copied" }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
      // It acts as the signed-in admin.
      const admin = await ok("UserService/GetAuthenticatedUser", {});
      const asNew = await ok("UserService/GetAuthenticatedUser", {}, value);
      assert.equal(asNew.user.id, admin.user.id);
      // Listed with its expiry in 7 days; after a reload the value is gone.
      await visit(page, "/access-tokens");
      const row = page.locator("table.access-tokens tbody tr", { hasText: description });
      await row.waitFor();
      const expires = await row.locator("td").nth(2).textContent();
      const in7 = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
      assert.ok(expires.startsWith(in7), `${expires} vs ${in7}`);
      assert.equal(await page.locator("#new-access-token").count(), 0);
      // Deleted through the dialog: it stops working at once.
      await row.getByRole("button", { name: "Delete" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await row.waitFor({ state: "detached" });
      assert.equal((await rpc("UserService/GetAuthenticatedUser", {}, value)).status, 401);
    });

    test("members: an admin changes a role after confirming, suspends, reactivates and removes a user", async () => {
      const { page } = s;
      const name = `${transport} member`;
      await visit(page, "/members");
      await page.getByRole("heading", { name: "Members" }).waitFor();
      const row = page.locator("table.org-members tbody tr", { hasText: name });
      await row.waitFor();
      const userId = await row.getAttribute("data-user-id");
      const role = async () => (await ok("UserService/GetUser", { userId })).user;
      const members = async () =>
        (await ok("OrganizationService/ListMembers", { organizationId: (await role()).organizationId, filter: { userIds: [userId] } }))
          .members[0];
      // Cancelled: nothing changes, the select goes back.
      await row.locator('select[name="role"]').selectOption({ label: "ADMIN" });
      await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
      await eventually(async () => (await row.locator('select[name="role"]').inputValue()) === "2", "the select goes back");
      assert.equal((await members()).role, "ORGANIZATION_ROLE_MEMBER");
      // Confirmed: an admin now, and the list shows it.
      await row.locator('select[name="role"]').selectOption({ label: "ADMIN" });
      await page.locator("dialog.confirm").getByRole("button", { name: "Change role" }).click();
      await eventually(async () => (await members()).role === "ORGANIZATION_ROLE_ADMIN", "an admin");
      await eventually(
        async () => (await page.locator("table.org-members tbody tr", { hasText: name }).locator('select[name="role"]').inputValue()) === "1",
        "the list shows the new role",
      );
      // Suspended and reactivated.
      await page.locator("table.org-members tbody tr", { hasText: name }).getByRole("button", { name: "Suspend" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Suspend" }).click();
      await page.locator("table.org-members tbody tr", { hasText: name }).locator("td.status", { hasText: "SUSPENDED" }).waitFor();
      assert.equal((await role()).status, "USER_STATUS_SUSPENDED");
      await page.locator("table.org-members tbody tr", { hasText: name }).getByRole("button", { name: "Reactivate" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Reactivate" }).click();
      await page.locator("table.org-members tbody tr", { hasText: name }).locator("td.status", { hasText: "ACTIVE" }).waitFor();
      // Removed.
      await page.locator("table.org-members tbody tr", { hasText: name }).getByRole("button", { name: "Remove" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Remove" }).click();
      await page.locator("table.org-members tbody tr", { hasText: name }).waitFor({ state: "detached" });
      assert.equal((await rpc("UserService/GetUser", { userId })).status, 404);
    });

    test("members: the last admin is kept, with the server's reason shown", async () => {
      const { page } = s;
      await visit(page, "/members");
      const mine = page.locator("table.org-members tbody tr", { hasText: "(you)" });
      await mine.waitFor();
      // Every other admin made by the tests is a member again, so that this one is the last.
      const admin = (await ok("UserService/GetAuthenticatedUser", {})).user;
      const listed = await ok("OrganizationService/ListMembers", { organizationId: admin.organizationId, pagination: { pageSize: 100 } });
      for (const m of listed.members) {
        if (m.userId !== admin.id && m.role === "ORGANIZATION_ROLE_ADMIN") {
          await ok("OrganizationService/SetRole", { organizationId: admin.organizationId, userId: m.userId, role: "ORGANIZATION_ROLE_MEMBER" });
        }
      }
      await mine.getByRole("button", { name: "Suspend" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Suspend" }).click();
      const error = page.locator(".error");
      await error.waitFor();
      assert.equal(await error.getAttribute("data-code"), "failed_precondition");
      assert.match(await error.textContent(), /last organization admin/);
    });

    test("members: a plain member sees the list without an admin's controls", async () => {
      const other = await openPage(serverUrl);
      try {
        await signIn(other.page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`, memberToken);
        await runnersHeading(other.page).waitFor();
        await visit(other.page, "/members");
        await other.page.locator("table.org-members tbody tr", { hasText: "Viewer (you)" }).waitFor();
        assert.equal(await other.page.locator('table.org-members select[name="role"]').count(), 0);
        assert.equal(await other.page.locator("table.org-members button").count(), 0);
        assert.match(await other.page.locator("p.hint").textContent(), /Only organization admins/);
        for (const call of await Promise.all(other.calls)) assertTransport(call, t);
      } finally {
        await other.context.close();
      }
    });
  });
}

for (const [transport, t] of Object.entries(TRANSPORTS)) {
  describe(`audit log and SSO settings over ${t.label}`, () => {
    const s = adminPage(transport, t);

    test("audit log: an admin sees the writes it just made, filters them by actor, subject type and time, and pages", async () => {
      const { page } = s;
      const me = (await ok("UserService/GetAuthenticatedUser", {})).user;
      // Two writes through the console: a runner created, then renamed.
      await visit(page, "/runners");
      await runnersHeading(page).waitFor();
      const name = `Audited ${transport} ${randomBytes(3).toString("hex")}`;
      const { runnerId } = await createRunner(page, name, t);
      await visit(page, `/runners/${runnerId}`);
      await page.locator('input[name="name"]').fill(`${name} renamed`);
      await page.getByRole("button", { name: "Save" }).click();
      await page.getByText("Saved.").waitFor();

      // The navigation leads there; the runner's entries are the newest about it: renamed, created,
      // by the admin.
      await page.locator("header nav").getByRole("link", { name: "Audit log" }).click();
      await page.getByRole("heading", { name: "Audit log" }).waitFor();
      const rows = page.locator("table.audit-log tbody tr");
      await rows.first().waitFor();
      const mine = page.locator(`table.audit-log tbody tr[data-subject-id="${runnerId}"]`);
      const cells = async (row) => ({
        action: await row.locator("td.action").textContent(),
        actor: await row.getAttribute("data-actor-id"),
        actorText: await row.locator("td.actor").textContent(),
        subjectType: await row.locator(".subject-type").textContent(),
        kind: await row.locator("td.kind").textContent(),
      });
      assert.equal(await mine.count(), 2);
      const [renamed, created] = [await cells(mine.nth(0)), await cells(mine.nth(1))];
      assert.deepEqual([renamed.action, created.action], ["gitpod.v1.RunnerService/UpdateRunner", "gitpod.v1.RunnerService/CreateRunner"]);
      for (const entry of [renamed, created]) {
        assert.equal(entry.actor, me.id);
        assert.ok(entry.actorText.includes(me.name), `${entry.actorText} names ${me.name}`);
        assert.match(entry.actorText, /USER/);
        assert.equal(entry.subjectType, "RUNNER");
        assert.equal(entry.kind, "RESOURCE_CHANGE");
      }
      // The table agrees with the API.
      const listed = await ok("EventService/ListAuditLogs", { pagination: { pageSize: 2 } });
      assert.deepEqual(
        listed.entries.map((e) => e.id),
        [await rows.nth(0).getAttribute("data-entry-id"), await rows.nth(1).getAttribute("data-entry-id")],
      );

      // Paging: 25 a page, the next page holds older entries.
      assert.equal(await rows.count(), 25);
      const firstPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.entryId));
      await page.locator('button[data-page="next"]').click();
      await page.locator(".page-number", { hasText: "Page 2" }).waitFor();
      const secondPage = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.entryId));
      assert.ok(secondPage.length > 0 && secondPage.every((id) => !firstPage.includes(id)), "page 2 holds other entries");
      await page.locator('button[data-page="previous"]').click();
      await page.locator(".page-number", { hasText: "Page 1" }).waitFor();

      // Filters: by subject type (groups only: not the runner's), by actor (the admin), by time.
      // Each choice renders the page anew; until then the previous table (and form) stay on
      // screen, so every check waits for the table it saw to be replaced first.
      const filters = page.locator("form.audit-filters");
      const apply = async (button = "Apply") => {
        const stale = await page.locator("table.audit-log").elementHandle();
        await filters.getByRole("button", { name: button }).click();
        await stale.waitForElementState("hidden");
      };
      await filters.locator('select[name="subjectType"]').selectOption({ label: "GROUP" });
      await apply();
      await page.waitForURL(/#\/audit-log\?type=12$/);
      await rows.first().waitFor();
      const types = await page.locator("table.audit-log .subject-type").allTextContents();
      assert.ok(types.length > 0, "the groups made by the tests have entries");
      for (const type of types) assert.equal(type, "GROUP");
      await apply("Clear");
      await page.waitForURL(/#\/audit-log$/);
      await filters.locator('select[name="actor"]').selectOption(me.id);
      await apply();
      await page.waitForURL(new RegExp(`#/audit-log\\?actor=${me.id}$`));
      await page.locator("table.audit-log tbody tr", { hasText: "gitpod.v1.RunnerService/UpdateRunner" }).first().waitFor();
      for (const actor of await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.actorId))) assert.equal(actor, me.id);
      // From a minute ahead: nothing yet; from two minutes ago to two ahead: the runner's entries.
      const minute = (offset) => new Date(Date.now() + offset * 60_000).toISOString().slice(0, 16);
      await filters.locator('input[name="from"]').fill(minute(1));
      await apply();
      await page.locator("table.audit-log td.empty", { hasText: "No entries match." }).waitFor();
      const [from, to] = [minute(-2), minute(2)];
      await filters.locator('input[name="from"]').fill(from);
      await filters.locator('input[name="to"]').fill(to);
      await apply();
      await page.locator(`table.audit-log tbody tr[data-subject-id="${runnerId}"]`).first().waitFor();
      // The choices stay in the address: a reload shows the same entries.
      await page.reload();
      await page.locator(`table.audit-log tbody tr[data-subject-id="${runnerId}"]`).first().waitFor();
      assert.equal(await filters.locator('select[name="actor"]').inputValue(), me.id);
      assert.equal(await filters.locator('input[name="from"]').inputValue(), from);
      assert.equal(await filters.locator('input[name="to"]').inputValue(), to);
      await ok("RunnerService/DeleteRunner", { runnerId, force: true });
    });

    test("audit log: a plain member is not shown the page, and opening it shows the server's refusal", async () => {
      const other = await openPage(serverUrl);
      try {
        await signIn(other.page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`, memberToken);
        await runnersHeading(other.page).waitFor();
        const nav = other.page.locator("header nav");
        await nav.getByRole("link", { name: "Members" }).waitFor();
        for (const admins of ["Audit log", "SSO", "Invitations"]) {
          assert.equal(await nav.getByRole("link", { name: admins, exact: true }).count(), 0, `${admins} is not offered`);
        }
        await visit(other.page, "/audit-log");
        const error = other.page.locator("main .error");
        await error.waitFor();
        assert.equal(await error.getAttribute("data-code"), "permission_denied");
        assert.match(await error.locator(".message").textContent(), /audit log/);
        assert.equal(await other.page.locator("table.audit-log").count(), 0);
        for (const call of await Promise.all(other.calls)) assertTransport(call, t);
        assert.deepEqual(other.scriptErrors, []);
      } finally {
        await other.context.close();
      }
    });

    test("SSO settings: add an identity provider (a bad issuer refused), deactivate, activate, replace its secret and delete it; the secret is never shown", async () => {
      const { page } = s;
      const domain = `${transport}.example.test`;
      await page.locator("header nav").getByRole("link", { name: "SSO", exact: true }).click();
      await page.getByRole("heading", { name: "SSO", exact: true }).waitFor();
      assert.equal(await page.locator("code.redirect-uri").textContent(), `${serverUrl}/auth/sso/callback`);
      const form = page.locator("form.add-sso");
      // Required fields first.
      await form.getByRole("button", { name: "Add identity provider" }).click();
      assert.equal(await form.locator(".error").getAttribute("data-code"), "required");
      // An issuer that is no OpenID provider: the server's refusal.
      const secret = `secret-${randomBytes(8).toString("hex")}`;
      await form.locator('input[name="displayName"]').fill(`Test provider (${t.label})`);
      await form.locator('input[name="issuerUrl"]').fill(`${serverUrl}/no-such-issuer`);
      await form.locator('input[name="clientId"]').fill(oidcClientId);
      await form.locator('input[name="clientSecret"]').fill(secret);
      await form.locator('input[name="emailDomains"]').fill(domain);
      await form.getByRole("button", { name: "Add identity provider" }).click();
      const refused = form.locator(".error");
      await refused.waitFor();
      assert.equal(await refused.getAttribute("data-code"), "failed_precondition");
      // The test provider: added, ACTIVE.
      await form.locator('input[name="issuerUrl"]').fill(oidcIssuer);
      await form.getByRole("button", { name: "Add identity provider" }).click();
      const row = page.locator("table.sso-configurations tbody tr", { hasText: `Test provider (${t.label})` });
      await row.waitFor();
      const id = await row.getAttribute("data-sso-id");
      assert.equal(await row.locator("td.issuer").textContent(), oidcIssuer);
      assert.equal(await row.locator("td.client-id").textContent(), oidcClientId);
      assert.equal(await row.locator("td.domains").textContent(), domain);
      assert.equal(await row.locator("td.state .badge").textContent(), "ACTIVE");
      const stored = async () => (await ok("OrganizationService/GetSSOConfiguration", { ssoConfigurationId: id })).ssoConfiguration;
      assert.equal((await stored()).state, "SSO_CONFIGURATION_STATE_ACTIVE");
      // Deactivated and activated again.
      await row.getByRole("button", { name: "Deactivate" }).click();
      await page.locator(`tr[data-sso-id="${id}"] td.state .badge`, { hasText: "INACTIVE" }).waitFor();
      assert.equal((await stored()).state, "SSO_CONFIGURATION_STATE_INACTIVE");
      await page.locator(`tr[data-sso-id="${id}"]`).getByRole("button", { name: "Activate" }).click();
      await page.locator(`tr[data-sso-id="${id}"] td.state .badge`, { hasText: /^ACTIVE$/ }).waitFor();
      assert.equal((await stored()).state, "SSO_CONFIGURATION_STATE_ACTIVE");
      // A new secret: accepted, and neither it nor the first one is ever on the page or in the API.
      const newSecret = `secret-${randomBytes(8).toString("hex")}`;
      await page.locator(`tr[data-sso-id="${id}"] input[name="clientSecret"]`).fill(newSecret);
      await page.locator(`tr[data-sso-id="${id}"]`).getByRole("button", { name: "Replace secret" }).click();
      await page.getByText(`The client secret of Test provider (${t.label}) was replaced.`).waitFor();
      await visit(page, "/sso");
      await page.locator(`tr[data-sso-id="${id}"]`).waitFor();
      const html = await page.content();
      for (const value of [secret, newSecret]) {
        assert.ok(!html.includes(value), "the client secret is not on the page");
        assert.ok(!JSON.stringify(await stored()).includes(value), "nor in the API's answer");
      }
      // Deleted through the dialog.
      await page.locator(`tr[data-sso-id="${id}"]`).getByRole("button", { name: "Delete" }).click();
      await page.locator("dialog.confirm").getByRole("button", { name: "Delete" }).click();
      await page.locator(`tr[data-sso-id="${id}"]`).waitFor({ state: "detached" });
      assert.equal((await rpc("OrganizationService/GetSSOConfiguration", { ssoConfigurationId: id })).status, 404);
    });
  });
}

/** A fresh page whose console is set to `t` (as its sign-in screen would save it), not signed in. */
async function visitorPage(transport, t) {
  const visitor = await openPage(serverUrl);
  await visitor.page.goto(`${serverUrl}/`);
  await visitor.page.evaluate(
    (settings) => localStorage.setItem("runner-console.settings", settings),
    JSON.stringify({ apiUrl: `${serverUrl}${t.apiPath ?? ""}`, transport }),
  );
  return visitor;
}

for (const [transport, t] of Object.entries(TRANSPORTS)) {
  describe(`invitations over ${t.label}`, () => {
    const s = adminPage(transport, t);

    test("an admin copies the invite link and replaces it; the link shows its organization and the identity provider to sign in through", async () => {
      const { page } = s;
      const { organizationId } = (await ok("UserService/GetAuthenticatedUser", {})).user;
      const { ssoConfiguration } = await ok("OrganizationService/CreateSSOConfiguration", {
        organizationId,
        issuerUrl: oidcIssuer,
        clientId: oidcClientId,
        clientSecret: oidcClientSecret,
        emailDomains: [`${transport}.invited.test`],
        displayName: `Invitations (${t.label})`,
      });
      const visitor = await visitorPage(transport, t);
      try {
        // The organization's link, with a copy button; a new one replaces it after a confirmation.
        await page.locator("header nav").getByRole("link", { name: "Invitations" }).click();
        await page.getByRole("heading", { name: "Invitations" }).waitFor();
        const link = page.locator("#invite-link");
        const old = (await link.textContent()).trim();
        assert.match(old, new RegExp(`^${serverUrl}/#/join/[0-9a-f-]{36}$`));
        await page.getByRole("button", { name: "Create a new invite link" }).click();
        await page.locator("dialog.confirm").getByRole("button", { name: "Create new link" }).click();
        await page.getByText("A new invite link was created").waitFor();
        const invite = (await link.textContent()).trim();
        assert.notEqual(invite, old);
        assert.match(invite, new RegExp(`^${serverUrl}/#/join/[0-9a-f-]{36}$`));
        const inviteId = invite.split("/").pop();
        assert.equal((await ok("OrganizationService/GetOrganizationInvite", { organizationId })).invite.inviteId, inviteId);
        await page.locator('[data-copy="invite-link"]').click();
        await page.locator('[data-copy="invite-link"]', { hasText: "Copied" }).waitFor();
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), invite);

        // Someone not signed in opens it: the replaced link leads nowhere; the new one shows the
        // organization's name and size, and a button to sign in through its active provider.
        await visitor.page.goto(old);
        await visitor.page.reload();
        const gone = visitor.page.locator("main .error");
        await gone.waitFor();
        assert.equal(await gone.getAttribute("data-code"), "not_found");
        await visitor.page.goto(invite);
        await visitor.page.reload();
        const summary = await ok("OrganizationService/GetOrganizationInviteSummary", { inviteId });
        await visitor.page.getByRole("heading", { name: `Join ${summary.organizationName}` }).waitFor();
        const members = summary.organizationMemberCount;
        assert.equal(
          await visitor.page.locator(".invite-summary").textContent(),
          `You were invited to the organization ${summary.organizationName} (${members} ${members === 1 ? "member" : "members"}).`,
        );
        const providers = await ok("AccountService/ListLoginProviders", { filter: { inviteId } });
        assert.equal(providers.loginProviders.length, 1);
        const href = await visitor.page.getByRole("link", { name: "Sign in with SSO" }).getAttribute("href");
        assert.equal(href, providers.loginProviders[0].loginUrl);
        assert.ok(href.startsWith(`${serverUrl}/auth/sso/start?`) && href.includes(ssoConfiguration.id) && href.includes(inviteId), href);
        for (const call of await Promise.all(visitor.calls)) assertTransport(call, t);
        assert.deepEqual(visitor.scriptErrors, []);
      } finally {
        await visitor.context.close();
        await ok("OrganizationService/DeleteSSOConfiguration", { ssoConfigurationId: ssoConfiguration.id });
      }
    });

    test("someone signed in joins another organization by its invite link", async () => {
      const token = joinerTokens[transport];
      const second = (await ok("UserService/GetAuthenticatedUser", {}, secondAdminToken)).user.organizationId;
      const { invite } = await ok("OrganizationService/GetOrganizationInvite", { organizationId: second }, secondAdminToken);
      const summary = await ok("OrganizationService/GetOrganizationInviteSummary", { inviteId: invite.inviteId });
      const joiner = await openPage(serverUrl);
      try {
        const { page } = joiner;
        await signIn(page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`, token);
        await runnersHeading(page).waitFor();
        await visit(page, `/join/${invite.inviteId}`);
        await page.getByRole("heading", { name: `Join ${summary.organizationName}` }).waitFor();
        await page.getByRole("button", { name: `Join ${summary.organizationName}` }).click();
        await page.getByText(`You are now a member of ${summary.organizationName}.`).waitFor();
        const { account } = await ok("AccountService/GetAccount", {}, token);
        assert.ok(
          account.memberships.some((m) => m.organizationId === second && m.userRole === "ORGANIZATION_ROLE_MEMBER"),
          JSON.stringify(account.memberships),
        );
        // Once more: the server's already_exists is shown.
        await visit(page, `/join/${invite.inviteId}`);
        await page.getByRole("button", { name: `Join ${summary.organizationName}` }).click();
        const error = page.locator("main .error");
        await error.waitFor();
        assert.equal(await error.getAttribute("data-code"), "already_exists");
        for (const call of await Promise.all(joiner.calls)) assertTransport(call, t);
        assert.deepEqual(joiner.scriptErrors, []);
      } finally {
        await joiner.context.close();
      }
    });
  });
}

/** Signs in at the test OpenID provider's own pages (devInteractions): its login form, then its consent. */
async function providerSignIn(page, email) {
  await page.waitForURL((url) => url.origin === new URL(oidcIssuer).origin, { waitUntil: "commit" });
  const login = page.locator('input[name="login"]');
  await login.waitFor();
  await login.fill(email);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  // The consent page comes once per grant; the provider goes back to the server after it.
  const consent = page.getByRole("button", { name: "Continue" });
  await Promise.race([
    // (Once the browser is back on the server, the consent button never comes: that wait ends
    // unanswered, and is ignored.)
    consent.waitFor().then(
      () => consent.click(),
      () => undefined,
    ),
    page.waitForURL((url) => url.origin === serverUrl, { waitUntil: "commit" }),
  ]);
  await page.waitForURL((url) => url.origin === serverUrl, { waitUntil: "commit" });
}

/** "Continue with SSO" on the sign-in screen, with `email`, over `transport`. */
async function startSso(page, transport, t, email) {
  await page.goto(`${serverUrl}/`);
  await page.locator("details").evaluate((d) => {
    d.open = true;
  });
  await page.locator('input[name="apiUrl"]').fill(`${serverUrl}${t.apiPath ?? ""}`);
  await page.locator('select[name="transport"]').selectOption(transport);
  await page.locator('input[name="email"]').fill(email);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
}

/** The session cookie the server set in `context`, if any. */
async function sessionCookie(context) {
  return (await context.cookies(serverUrl)).find((c) => c.name === "runner_session");
}

/** Calls the API with only the session cookie (no Authorization header), as the console does. */
async function withCookie(cookie, method, body = {}) {
  const response = await fetch(`${serverUrl}/gitpod.v1.${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie: `${cookie.name}=${cookie.value}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe("sign in with SSO through the test OpenID provider", () => {
  let organizationId;
  /** A runner every member may use (a policy for `org-members`): people signed in by SSO see it. */
  let sharedRunner;
  before(async () => {
    organizationId = (await ok("UserService/GetAuthenticatedUser", {})).user.organizationId;
    sharedRunner = (await ok("RunnerService/CreateRunner", { name: "Shared with every member", provider: "RUNNER_PROVIDER_AWS_EC2", spec: { configuration: { region: "eu-north-1" } } })).runner.runnerId;
    const groups = await ok("GroupService/ListGroups", { pagination: { pageSize: 100 } });
    const everyone = groups.groups.find((g) => g.name === "org-members");
    assert.ok(everyone, "the org-members group");
    await ok("RunnerService/CreateRunnerPolicy", { runnerId: sharedRunner, groupId: everyone.id, role: "RUNNER_ROLE_USER" });
    // The organization's provider for acme.test, as an admin registers it.
    await ok("OrganizationService/CreateSSOConfiguration", {
      organizationId,
      issuerUrl: oidcIssuer,
      clientId: oidcClientId,
      clientSecret: oidcClientSecret,
      emailDomains: ["acme.test"],
      displayName: "Test provider",
    });
  });
  after(async () => {
    await ok("RunnerService/DeleteRunner", { runnerId: sharedRunner, force: true });
  });

  for (const [transport, t] of Object.entries(TRANSPORTS)) {
    test(`alice@acme.test signs in on the provider's page, lands on the runners, calls with the session only, and signs out, over ${t.label}`, async () => {
      const s = await openPage(serverUrl);
      const authorization = [];
      s.page.on("request", (request) => {
        if (request.url().includes("/gitpod.v1.")) authorization.push(request.headerValue("authorization"));
      });
      try {
        const { page, context } = s;
        await startSso(page, transport, t, "alice@acme.test");
        await providerSignIn(page, "alice@acme.test");
        await runnersHeading(page).waitFor();
        // The runners she may see (the one shared with every member), as the API lists them for her session.
        await page.locator(`table.runners tbody tr[data-runner-id="${sharedRunner}"]`).waitFor();
        const cookie = await sessionCookie(context);
        assert.ok(cookie, "the server set the session cookie");
        assert.equal(cookie.httpOnly, true);
        assert.equal(cookie.sameSite, "Lax");
        const listed = await withCookie(cookie, "RunnerService/ListRunners", { pagination: { pageSize: 100 } });
        assert.equal(listed.status, 200);
        const shown = await page.locator("table.runners tbody tr[data-runner-id]").evaluateAll((trs) => trs.map((tr) => tr.dataset.runnerId));
        assert.deepEqual(shown.sort(), listed.body.runners.map((r) => r.runnerId).sort());
        // She is who she signed in as: a user of the organization.
        const me = await withCookie(cookie, "UserService/GetAuthenticatedUser");
        assert.equal(me.status, 200);
        assert.equal(me.body.user.organizationId, organizationId);
        assert.equal((await withCookie(cookie, "AccountService/GetAccount")).body.account.email, "alice@acme.test");
        assert.equal(await page.evaluate(() => sessionStorage.getItem("runner-console.token")), null, "no token is kept");
        for (const value of await Promise.all(authorization)) assert.equal(value, null, "no Authorization header");
        for (const call of await Promise.all(s.calls)) assertTransport(call, t);

        // Signing out ends the session: the cookie no longer works, and a reload shows the sign-in screen.
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("button", { name: "Continue with SSO" }).waitFor();
        assert.equal((await withCookie(cookie, "UserService/GetAuthenticatedUser")).status, 401);
        await page.goto(`${serverUrl}/#/runners`);
        await page.reload();
        await page.getByRole("button", { name: "Continue with SSO" }).waitFor();
        assert.equal(await runnersHeading(page).count(), 0);
        assert.deepEqual(s.scriptErrors, []);
      } finally {
        await s.context.close();
      }
    });
  }

  test("bob@other.test is refused: his domain has no provider, and signing in at acme's provider is refused with the server's reason", async () => {
    const s = await openPage(serverUrl);
    try {
      const { page, context } = s;
      await startSso(page, "grpc-web", TRANSPORTS["grpc-web"], "bob@other.test");
      const error = page.locator("form.signin-sso .error");
      await error.waitFor();
      assert.ok((await error.locator(".message").textContent()).length > 0, "the reason is shown");
      assert.equal(new URL(page.url()).origin, serverUrl, "the browser stayed on the console");
      // Through acme's provider, as bob: the server's callback refuses him and says why.
      await page.locator('input[name="email"]').fill("alice@acme.test");
      await page.getByRole("button", { name: "Continue with SSO" }).click();
      await providerSignIn(page, "bob@other.test");
      const refused = page.locator(".sso-error");
      await refused.waitFor();
      assert.ok((await refused.textContent()).replace("Single sign-on failed:", "").trim().length > 0);
      assert.equal(new URL(page.url()).search, "", "sso_error is read once and taken out of the address");
      assert.equal(await sessionCookie(context), undefined, "no session");
      assert.equal(await runnersHeading(page).count(), 0);
      assert.deepEqual(s.scriptErrors, []);
    } finally {
      await s.context.close();
    }
  });

  for (const [transport, t] of Object.entries(TRANSPORTS)) {
    test(`an admin's invite link lets bob@other.test in through the provider, over ${t.label}`, async () => {
      const admin = await openPage(serverUrl);
      const bob = await visitorPage(transport, t);
      try {
        // The admin copies the link from the invitations page.
        await signIn(admin.page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`);
        await runnersHeading(admin.page).waitFor();
        await admin.page.locator("header nav").getByRole("link", { name: "Invitations" }).click();
        const invite = (await admin.page.locator("#invite-link").textContent()).trim();
        const inviteId = invite.split("/").pop();
        assert.equal((await ok("OrganizationService/GetOrganizationInvite", { organizationId })).invite.inviteId, inviteId);
        for (const call of await Promise.all(admin.calls)) assertTransport(call, t);

        // Bob opens it and signs in through the organization's provider: he is let in, as a member.
        const summary = await ok("OrganizationService/GetOrganizationInviteSummary", { inviteId });
        await bob.page.goto(invite);
        await bob.page.reload();
        await bob.page.getByRole("heading", { name: `Join ${summary.organizationName}` }).waitFor();
        await bob.page.getByRole("link", { name: "Sign in with SSO" }).click();
        await providerSignIn(bob.page, "bob@other.test");
        await runnersHeading(bob.page).waitFor();
        await bob.page.locator(`table.runners tbody tr[data-runner-id="${sharedRunner}"]`).waitFor();
        const cookie = await sessionCookie(bob.context);
        const me = await withCookie(cookie, "UserService/GetAuthenticatedUser");
        assert.equal(me.status, 200);
        assert.equal(me.body.user.organizationId, organizationId);
        assert.equal((await withCookie(cookie, "AccountService/GetAccount")).body.account.email, "bob@other.test");
        const members = await ok("OrganizationService/ListMembers", { organizationId, filter: { userIds: [me.body.user.id] } });
        assert.equal(members.members[0].role, "ORGANIZATION_ROLE_MEMBER");
        for (const call of await Promise.all(bob.calls)) assertTransport(call, t);
        // Signing out ends his session too.
        await bob.page.getByRole("button", { name: "Sign out" }).click();
        await bob.page.getByRole("button", { name: "Continue with SSO" }).waitFor();
        assert.equal((await withCookie(cookie, "UserService/GetAuthenticatedUser")).status, 401);
        assert.deepEqual([...admin.scriptErrors, ...bob.scriptErrors], []);
      } finally {
        await admin.context.close();
        await bob.context.close();
      }
    });
  }
});

/** The page's watch is running (its indicator says Live: it has watched and read its data again). */
async function waitLive(page) {
  await page.locator('.live[data-live="live"]').waitFor();
}

/** A runner that signs up and reports, as runner-agent does, with its own token: the page must follow. */
async function signUpAndReport(runnerId, exchangeToken, { phase, region }) {
  const { accessToken } = await ok("IdentityService/ExchangeToken", { exchangeToken }, "");
  const signup = () =>
    ok(
      "runnerside.v1.RunnerInteractionService/Signup",
      { runnerId, publicKey: randomBytes(32).toString("base64"), version: "2025.12.1", region, systemDetails: "the browser tests' live runner" },
      accessToken,
    );
  const report = () => ok("runnerside.v1.RunnerInteractionService/UpdateRunnerStatus", { runnerId, phase: `RUNNER_PHASE_${phase}` }, accessToken);
  return { signup, report };
}

for (const [transport, t] of Object.entries(TRANSPORTS)) {
  describe(`live pages over ${t.label} (WatchEvents)`, () => {
    let s;
    const cleanup = [];

    before(async () => {
      s = await openPage(serverUrl);
      await signIn(s.page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`);
      await runnersHeading(s.page).waitFor();
    });
    after(async () => {
      await s.context.close();
      for (const runnerId of cleanup) await rpc("RunnerService/DeleteRunner", { runnerId, force: true });
    });
    /** A runner created through the API (not the page), deleted after the suite. */
    async function createElsewhere(name, provider, region) {
      const created = await ok("RunnerService/CreateRunner", {
        name,
        provider: `RUNNER_PROVIDER_${provider}`,
        spec: { configuration: { region } },
      });
      cleanup.push(created.runner.runnerId);
      return created;
    }

    test("the runners list: a runner created elsewhere appears, turns ACTIVE when its process signs up and reports, and disappears when deleted, without a reload", async () => {
      const { page } = s;
      await visit(page, "/runners");
      await waitLive(page);
      // A reload would lose this.
      await page.evaluate(() => (window.liveTestDocument = true));
      const name = `Live list ${transport} ${Date.now()}`;
      const created = await createElsewhere(name, "AWS_EC2", "eu-north-1");
      const runnerId = created.runner.runnerId;
      const row = page.locator("table.runners tbody tr", { hasText: name });
      await row.waitFor();
      assert.equal(await row.locator(".badge").textContent(), "CREATED");
      assert.equal(await page.locator("table.runners tbody tr").first().getAttribute("data-runner-id"), runnerId, "newest first");

      const runner = await signUpAndReport(runnerId, created.exchangeToken, { phase: "ACTIVE", region: "eu-north-1" });
      await runner.signup();
      await row.locator(".badge", { hasText: /^INACTIVE$/ }).waitFor();
      await runner.report();
      await row.locator(".badge", { hasText: /^ACTIVE$/ }).waitFor();
      assert.equal(await row.locator(".badge").textContent(), "ACTIVE");
      assert.match(await row.textContent(), /2025\.12\.1/, "the version it reported");

      await ok("RunnerService/UpdateRunner", { runnerId, name: `${name} renamed` });
      await page.locator("table.runners tbody tr", { hasText: `${name} renamed` }).waitFor();

      await ok("RunnerService/DeleteRunner", { runnerId, force: true });
      await page.locator(`table.runners tbody tr[data-runner-id="${runnerId}"]`).waitFor({ state: "detached" });
      assert.equal(await page.evaluate(() => window.liveTestDocument), true, "the page was not reloaded");
      assert.deepEqual(s.scriptErrors, []);
    });

    test("a failed watch is retried with backoff, and what changed meanwhile is read again", async () => {
      const { page } = s;
      // Every watch fails as a dropped connection would, until the route is removed.
      const attempts = [];
      const watches = "**/gitpod.v1.EventService/WatchEvents";
      await page.route(watches, (route) => {
        attempts.push(Date.now());
        return route.abort("connectionreset");
      });
      const name = `Missed while offline ${transport} ${Date.now()}`;
      try {
        await visit(page, "/runners");
        await page.locator('.live[data-live="reconnecting"]').waitFor();
        await page.evaluate(() => (window.liveTestDocument = true));
        // Created while no watch is open: no event will tell the page.
        await createElsewhere(name, "GCP", "europe-west3");
        await eventually(() => attempts.length >= 3, "three watches tried");
        // Backoff: the second wait (1–2 s with jitter) is no shorter than half a second, and
        // the attempts are not a tight loop.
        assert.ok(attempts[2] - attempts[1] >= 500, `waited ${attempts[2] - attempts[1]} ms before the third watch`);
        assert.equal(await page.locator("table.runners tbody tr", { hasText: name }).count(), 0, "not shown yet");
      } finally {
        await page.unroute(watches);
      }
      // The next watch works; the list is read again and shows what was missed.
      await page.locator('.live[data-live="live"]').waitFor();
      await page.locator("table.runners tbody tr", { hasText: name }).waitFor();
      assert.equal(await page.evaluate(() => window.liveTestDocument), true, "the page was not reloaded");
    });

    test("the runner page: its phase follows its process, and its classes and integrations follow changes made elsewhere", async () => {
      const { page } = s;
      const name = `Live page ${transport} ${Date.now()}`;
      const created = await createElsewhere(name, "AWS_EC2", "eu-south-1");
      const runnerId = created.runner.runnerId;
      await visit(page, `/runners/${runnerId}`);
      await waitLive(page);
      await page.evaluate(() => (window.liveTestDocument = true));
      const phase = page.locator("dl.details .badge");
      assert.equal(await phase.textContent(), "CREATED");
      assert.equal(await page.locator(".waiting").count(), 1, "it waits for its process");
      for (const list of ["classes", "scm", "llm"]) {
        assert.equal(await page.locator(`[data-list="${list}"] li`).textContent(), "None yet.", list);
      }

      // Its process signs up (INACTIVE: no report yet) and reports ACTIVE, through the runner's API.
      const runner = await signUpAndReport(runnerId, created.exchangeToken, { phase: "ACTIVE", region: "eu-south-1" });
      await runner.signup();
      await page.locator("dl.details .badge", { hasText: /^INACTIVE$/ }).waitFor();
      await page.locator(".waiting").waitFor({ state: "detached" });
      await runner.report();
      await page.locator("dl.details .badge", { hasText: /^ACTIVE$/ }).waitFor();
      assert.equal(await phase.textContent(), "ACTIVE");

      // Another admin configures it.
      const scm = await ok("RunnerConfigurationService/CreateSCMIntegration", { runnerId, scmId: "github", host: "github.com", pat: true });
      const scmItem = page.locator('[data-list="scm"] li', { hasText: "github.com" });
      await scmItem.waitFor();
      const klass = await ok("RunnerConfigurationService/CreateEnvironmentClass", {
        runnerId,
        displayName: `Live class ${transport}`,
        description: "Made while the page was open",
        configuration: [
          { key: "instanceType", value: "m6i.2xlarge" },
          { key: "diskSizeGb", value: "100" },
        ],
      });
      const classItem = page.locator('[data-list="classes"] li', { hasText: `Live class ${transport}` });
      await classItem.locator(".badge", { hasText: "Enabled" }).waitFor();
      await ok("RunnerConfigurationService/UpdateEnvironmentClass", { environmentClassId: klass.id, enabled: false });
      await classItem.locator(".badge", { hasText: "Disabled" }).waitFor();
      await ok("RunnerConfigurationService/CreateLLMIntegration", {
        runnerId,
        models: ["SUPPORTED_MODEL_SONNET_4"],
        endpoint: `https://llm-${transport}.example.com`,
        apiKey: "sk-live-page-test",
        maxTokens: 4096,
      });
      await page.locator('[data-list="llm"] li', { hasText: `https://llm-${transport}.example.com` }).waitFor();
      await ok("RunnerConfigurationService/DeleteSCMIntegration", { id: scm.id });
      await scmItem.waitFor({ state: "detached" });
      assert.equal(await page.locator('[data-list="scm"] li').textContent(), "None yet.");

      // Renamed elsewhere; then deleted elsewhere: the page says so.
      await ok("RunnerService/UpdateRunner", { runnerId, name: `${name} renamed` });
      await page.locator("h1.runner-name", { hasText: `${name} renamed` }).waitFor();
      await ok("RunnerService/DeleteRunner", { runnerId, force: true });
      await page.locator('.error[data-code="deleted"]').waitFor();
      assert.equal(await page.getByRole("button", { name: "Delete runner" }).isDisabled(), true);
      assert.equal(await page.evaluate(() => window.liveTestDocument), true, "the page was not reloaded");

      // The watch went over the console's transport, as every other call.
      const calls = await Promise.all(s.calls);
      assert.ok(calls.some((c) => STREAMING.test(new URL(c.url).pathname)), "WatchEvents was called");
      for (const call of calls) assertTransport(call, t);
      assert.deepEqual(s.scriptErrors, []);
    });
  });
}

describe("runners with the same name", () => {
  // Names may repeat within an organization (docs/decisions.md); the console tells such runners
  // apart by the end of their ids, in the list and in every runner picker.
  const name = `Twin runner ${Date.now()}`;
  const ids = [];
  let s;
  before(async () => {
    for (const region of ["europe-west1", "europe-west4"]) {
      const created = await ok("RunnerService/CreateRunner", {
        name,
        provider: "RUNNER_PROVIDER_GCP",
        spec: { configuration: { region } },
      });
      ids.push(created.runner.runnerId);
    }
    s = await openPage(serverUrl);
    await signIn(s.page, serverUrl, "grpc-web", serverUrl);
    await runnersHeading(s.page).waitFor();
  });
  after(async () => {
    await s?.context.close();
    for (const runnerId of ids) await ok("RunnerService/DeleteRunner", { runnerId, force: true });
  });

  test("the list and the pickers show each with the end of its id", async () => {
    const { page } = s;
    const expected = ids.map((id) => `${name} (…${id.slice(-8)})`).sort();
    const row = await findInList(page, name);
    assert.ok(row, `${name} is listed`);
    const listed = (await page.locator("table.runners tbody tr a", { hasText: name }).allTextContents()).sort();
    assert.deepEqual(listed, expected);

    await visit(page, "/classes");
    const picker = page.locator('select[name="runner"]').first();
    await picker.waitFor();
    const options = (await picker.locator("option", { hasText: name }).allTextContents()).sort();
    assert.deepEqual(options, expected);
    // A name no other runner has is shown as it is.
    assert.ok((await picker.locator("option", { hasText: "Iowa GPU pool" }).allTextContents()).includes("Iowa GPU pool"));
    assert.deepEqual(s.scriptErrors, []);
  });
});

describe("console on another origin than the API (CORS)", () => {
  let elsewhere;
  let origin;
  before(async () => {
    elsewhere = await serveConsoleElsewhere();
    origin = `http://127.0.0.1:${elsewhere.address().port}`;
  });
  after(() => new Promise((resolve) => elsewhere.close(resolve)));

  for (const [transport, t] of Object.entries(TRANSPORTS)) {
    test(`the console from another origin calls the API over ${t.label}`, async () => {
      assert.notEqual(origin, new URL(serverUrl).origin);
      const s = await openPage(origin);
      try {
        const { page } = s;
        await signIn(page, origin, transport, `${serverUrl}${t.apiPath ?? ""}`);
        await runnersHeading(page).waitFor();
        assert.equal(new URL(page.url()).origin, origin, "the page is from the other origin");
        const name = `Cross-origin ${transport} ${Date.now()}`;
        const { runnerId, exchangeToken } = await createRunner(page, name, t);
        assert.match(exchangeToken, /^gpx_/);
        await page.getByRole("link", { name: `Open ${name}` }).click();
        assert.equal(await page.locator("h1.runner-name").textContent(), name);
        await deleteThroughDialog(page, runnerId);
        assert.equal((await rpc("RunnerService/GetRunner", { runnerId })).body.code, "not_found");

        // Every call crossed origins, from the console's origin to the API's.
        const calls = await Promise.all(s.calls);
        assert.ok(calls.length >= 4, `${calls.length} calls`);
        for (const call of calls) {
          assert.equal(new URL(call.url).origin, new URL(serverUrl).origin, call.url);
          assert.equal(call.origin, origin, call.url);
          assertTransport(call, t);
        }
        assert.deepEqual(s.scriptErrors, []);
      } finally {
        await s.context.close();
      }
    });
  }
});

describe("at 390 px wide (a phone)", () => {
  // A runner with a long name: its name is an option of the runner pickers, which must not
  // widen a page past the screen.
  let longNamed;
  before(async () => {
    const name = "Frankfurt GPU pool of the data science team (eu-central-1)";
    longNamed = (await ok("RunnerService/CreateRunner", { name, provider: "RUNNER_PROVIDER_GCP" })).runner.runnerId;
  });
  after(async () => {
    await ok("RunnerService/DeleteRunner", { runnerId: longNamed, force: true });
  });
  for (const [transport, t] of Object.entries(TRANSPORTS)) {
    test(`the header and every page fit, over ${t.label}`, async () => {
      const s = await openPage(serverUrl, { width: 390, height: 844 });
      try {
        const { page } = s;
        await signIn(page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`);
        await runnersHeading(page).waitFor();
        const someRunner = await runnerNamed("Iowa GPU pool");
        for (const hash of ["/runners", `/runners/${someRunner}`, "/runners/new", "/classes", "/scm", "/policies", "/groups", "/tokens", "/service-accounts", "/context", "/members", "/access-tokens", "/audit-log", "/sso", "/invitations"]) {
          await visit(page, hash);
          await page.locator("main h1").first().waitFor();
          const width = await page.evaluate(() => document.documentElement.scrollWidth);
          assert.ok(width <= 390, `#${hash} is ${width} px wide`);
          // The brand and the sign-out button are on screen; every navigation link can be reached.
          for (const locator of [page.locator("header .brand"), page.getByRole("button", { name: "Sign out" })]) {
            const box = await locator.boundingBox();
            assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `#${hash}: ${JSON.stringify(box)}`);
          }
        }
        await page.locator("header nav").getByRole("link", { name: "Context URL" }).click();
        await page.getByRole("heading", { name: "Parse a context URL" }).waitFor();
        assert.deepEqual(s.scriptErrors, []);
      } finally {
        await s.context.close();
      }
    });
  }
});

describe("more than 100 runners", () => {
  // Written last: the runners it adds would change what the tests above count.
  let newest;
  before(async () => {
    for (let i = 0; i < 100; i++) {
      const created = await ok("RunnerService/CreateRunner", { name: `Bulk runner ${String(i).padStart(3, "0")}`, provider: "RUNNER_PROVIDER_GCP" });
      newest = created.runner;
    }
  });

  for (const [transport, t] of Object.entries(TRANSPORTS)) {
    test(`the pickers and the list reach all of them, over ${t.label}`, async () => {
      const s = await openPage(serverUrl);
      try {
        const { page } = s;
        const { runners } = await ok("RunnerService/ListRunners", { pagination: { pageSize: 100 } });
        assert.equal(runners.length, 100, "more than one page of the API");
        assert.ok(!runners.some((r) => r.runnerId === newest.runnerId), "the newest is not on the API's first page");
        await signIn(page, serverUrl, transport, `${serverUrl}${t.apiPath ?? ""}`);
        await runnersHeading(page).waitFor();
        const rows = page.locator("table.runners tbody tr");
        assert.equal(await rows.first().getAttribute("data-runner-id"), newest.runnerId, "newest first");
        await page.locator('input[name="search"]').fill("Bulk runner 099");
        assert.equal(await rows.count(), 1);
        for (const hash of ["/classes", "/scm", "/policies", "/context", "/tokens"]) {
          await visit(page, hash);
          const picker = page.locator('select[name="runner"]').first();
          await picker.waitFor();
          const values = await picker.locator("option").evaluateAll((options) => options.map((o) => o.value));
          assert.ok(values.includes(newest.runnerId), `#${hash} offers ${newest.name}`);
          assert.ok(values.length > 100, `#${hash} offers ${values.length}`);
        }
        assert.deepEqual(s.scriptErrors, []);
      } finally {
        await s.context.close();
      }
    });
  }
});

describe("API reference at /docs", () => {
  test("Swagger UI renders the served OpenAPI document, loading nothing from another origin", async () => {
    const s = await openPage(serverUrl);
    try {
      const { page } = s;
      const requests = [];
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(`${serverUrl}/docs`);
      assert.equal(new URL(page.url()).pathname, "/docs/", "/docs is the reference page");
      await page.getByText("Ona runner management API (runner-server)").first().waitFor();
      // The document has more operations than Swagger UI puts in the page at once (beyond a
      // hundred or so it renders only those in view): a deep link scrolls to an operation and
      // opens it when the page loads with it (a query makes each a new load, not a change of
      // fragment). A known operation, with its method's proto comment ...
      await page.goto(`${serverUrl}/docs/?op=post#/gitpod.v1.RunnerService/RunnerService_CreateRunner`);
      const createRunner = page.locator('.opblock-post [data-path="/gitpod.v1.RunnerService/CreateRunner"]');
      await createRunner.first().waitFor();
      await page.getByText("Creates a runner", { exact: false }).first().waitFor();
      // ... and the Connect GET form of a NO_SIDE_EFFECTS method.
      await page.goto(`${serverUrl}/docs/?op=get#/gitpod.v1.RunnerService/RunnerService_GetRunner_Get`);
      await page.locator('.opblock-get [data-path="/gitpod.v1.RunnerService/GetRunner"]').first().waitFor();
      assert.ok(requests.some((url) => new URL(url).pathname === "/openapi.json"), "it read /openapi.json");
      const elsewhere = requests.filter((url) => !url.startsWith("data:") && new URL(url).origin !== serverUrl);
      assert.deepEqual(elsewhere, [], "no CDN or other origin at run time");
      assert.deepEqual(s.scriptErrors, []);
    } finally {
      await s.context.close();
    }
  });
});
