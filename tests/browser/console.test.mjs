// The web console (web/) in a real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), against a live runner-server that serves the built console (--console-dir).
//
// For each transport, gRPC-web and Connect: 1. sign in; 2. create a runner and read its exchange
// token; 3. see it in the list; 4. update its name; 5. create an environment class from the
// schema form; 6. see a validation error rendered for a bad value; 7. delete the runner. Then the
// SCM, policy and context-URL pages, and a check that every API call of the suite used its
// transport. Two runners with one name are told apart in the list and the pickers. One more test
// per transport loads the console from another origin (a static server on another port) and
// calls the API across origins (CORS).
//
// Environment (set by run.sh): CONSOLE_URL (the server, which also serves the console), API_TOKEN
// (an admin's personal access token), CONSOLE_DIST (the built console, for the other origin) and
// SCREENSHOT (where the runners page's screenshot goes).

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

const TRANSPORTS = {
  "grpc-web": { label: "gRPC-web", contentType: "application/grpc-web+proto", provider: "AWS EC2", region: "eu-central-1" },
  connect: { label: "Connect", contentType: "application/json", provider: "Google Cloud", region: "europe-west1" },
};

/** A Connect JSON call, as any API client would make it (used to set up and to cross-check). */
async function rpc(method, body, token = adminToken) {
  const response = await fetch(`${serverUrl}/gitpod.v1.${method}`, {
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
    ["Belgium data science", "GCP", "europe-west1", "ACTIVE"],
    ["Virginia CI", "AWS_EC2", "us-east-1", "ACTIVE"],
    ["Sydney sandbox", "AWS_EC2", "ap-southeast-2", null],
    ["London release", "GCP", "europe-west2", "DEGRADED"],
    ["Oregon load tests", "AWS_EC2", "us-west-2", null],
    ["Mumbai platform team", "GCP", "asia-south1", "ACTIVE"],
    ["São Paulo pilot", "AWS_EC2", "sa-east-1", null],
  ];
  for (const [name, provider, region, phase] of seeds) {
    const created = await ok("RunnerService/CreateRunner", {
      name,
      provider: `RUNNER_PROVIDER_${provider}`,
      spec: { configuration: { region } },
    });
    if (!phase) continue;
    const runnerId = created.runner.runnerId;
    const { accessToken } = await ok("IdentityService/ExchangeToken", { exchangeToken: created.exchangeToken }, "");
    await ok(
      "RunnerInteractionService/Signup",
      { runnerId, publicKey: randomBytes(32).toString("base64"), version: "2025.11.3", region, systemDetails: "seeded by the browser tests" },
      accessToken,
    );
    await ok(
      "RunnerInteractionService/UpdateRunnerStatus",
      { runnerId, phase: `RUNNER_PHASE_${phase}`, message: phase === "DEGRADED" ? "1 of 3 hosts unreachable" : "" },
      accessToken,
    );
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
async function openPage(origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 600 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const calls = [];
  const scriptErrors = [];
  page.on("request", (request) => {
    if (request.url().includes("/gitpod.v1.")) {
      // allHeaders: the headers as sent, Origin included.
      const url = request.url();
      calls.push(request.allHeaders().then((headers) => ({ url, contentType: headers["content-type"], origin: headers.origin })));
    }
  });
  page.on("pageerror", (error) => scriptErrors.push(String(error)));
  return { context, page, calls, scriptErrors };
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
      await signIn(page, serverUrl, transport, serverUrl, "gpat_not-a-real-token");
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

    test("2. create a runner and read its exchange token, shown once with a copy button", async () => {
      const { page } = s;
      const created = await createRunner(page, name, t);
      runnerId = created.runnerId;
      assert.match(created.exchangeToken, /^gpx_[A-Za-z0-9_-]{20,}$/);
      await page.getByRole("button", { name: "Copy" }).click();
      await page.getByRole("button", { name: "Copied" }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), created.exchangeToken);
      // It is the real token: a runner process redeems it for its access token.
      const exchanged = await ok("IdentityService/ExchangeToken", { exchangeToken: created.exchangeToken }, "");
      assert.equal(exchanged.runnerId, runnerId);
    });

    test("3. see the runner in the list, with its phase badge (paging to it)", async () => {
      const { page } = s;
      await visit(page, "/runners");
      await page.locator("table.runners tbody tr").first().waitFor();
      assert.equal(await page.locator("table.runners tbody tr").count(), 10, "a full first page");
      if (transport === "grpc-web") {
        await page.screenshot({ path: screenshot, fullPage: true });
      }
      const row = await findInList(page, name);
      assert.ok(row, `${name} is listed`);
      assert.equal(await row.locator(".badge").textContent(), "CREATED");
      assert.equal(await row.getAttribute("data-runner-id"), runnerId);
      assert.notEqual(await page.locator(".page-number").textContent(), "Page 1", "the new runner is past the first page");
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
    });

    test("5. create an environment class from the schema form, then disable and enable it", async () => {
      const { page } = s;
      await visit(page, `/runners/${runnerId}`);
      await page.locator("p.links").getByRole("link", { name: "Environment classes" }).click();
      const form = page.locator("form.create-class");
      // The fields come from GetRunnerConfigurationSchema: AWS EC2 and GCP runners differ.
      const [kindKey, kindValue] = transport === "grpc-web" ? ["instanceType", "m6i.2xlarge"] : ["machineType", "e2-standard-8"];
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

    test("6. a bad value is rejected by the server and its error rendered (code, message, field)", async () => {
      const { page } = s;
      await visit(page, `/classes?runner=${runnerId}`);
      const form = page.locator("form.create-class");
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

    test("SCM integrations, runner policies and the context-URL box", async () => {
      const { page } = s;
      await visit(page, `/scm?runner=${runnerId}`);
      await page.locator('select[name="scmId"]').selectOption("github");
      assert.equal(await page.locator('input[name="host"]').inputValue(), "github.com");
      await page.getByRole("button", { name: "Create integration" }).click();
      await page.locator("tbody tr", { hasText: "github.com" }).waitFor();

      await visit(page, `/policies?runner=${runnerId}`);
      await page.getByText("No policies").waitFor();
      await page.locator('input[name="groupId"]').fill("not-a-group");
      await page.getByRole("button", { name: "Grant" }).click();
      const policyError = page.locator(".error");
      await policyError.waitFor();
      assert.equal(await policyError.getAttribute("data-code"), "invalid_argument");

      await visit(page, `/context?runner=${runnerId}`);
      await page.locator('input[name="contextUrl"]').fill("https://github.com/gitpod-io/gitpod/pull/1");
      await page.getByRole("button", { name: "Parse" }).click();
      const contextError = page.locator(".error");
      await contextError.waitFor();
      // No host token for github.com yet: the server says so, and the console shows it.
      assert.equal(await contextError.getAttribute("data-code"), "failed_precondition");
      assert.match(await contextError.locator(".message").textContent(), /authentication with github\.com is required/);
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

    test(`every API call went over ${t.label}, without script errors`, async () => {
      const calls = await Promise.all(s.calls);
      assert.ok(calls.length >= 20, `${calls.length} calls`);
      for (const call of calls) assert.equal(call.contentType, t.contentType, call.url);
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
        await signIn(page, origin, transport, serverUrl);
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
          assert.equal(call.contentType, t.contentType, call.url);
        }
        assert.deepEqual(s.scriptErrors, []);
      } finally {
        await s.context.close();
      }
    });
  }
});
