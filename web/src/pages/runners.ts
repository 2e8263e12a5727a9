// Runners: the list with phase badges (sorted, searched, paged), creating one (its id, exchange
// token and agent command shown once), a runner's details, updating and deleting it.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { enumName, problemOf } from "../api";
import { confirmDialog, errorBox, field, formatTime, h, notice, secretBox } from "../dom";
import { RunnerProvider } from "../gen/gitpod/v1/runner_configuration_pb";
import {
  LogLevel,
  RunnerPhase,
  RunnerReleaseChannel,
  type Runner,
  type UpdateRunnerRequest_RunnerConfiguration,
} from "../gen/gitpod/v1/runner_pb";
import { ResourceOperation, ResourceType, coalesce, live } from "../live";
import type { Ctx } from "../main";
import { MAX_RUNNERS, allRunners, attempt, localPager, onSubmit, runnerLabel, tableWrap } from "./common";
import { sharingPanel } from "./groups";

/** The page sizes the list offers; the first is the default. */
const PAGE_SIZES = [25, 10, 50, 100];

const SORTS: Record<string, [string, (a: Runner, b: Runner) => number]> = {
  // Ids are UUIDv7: their order is the order of creation.
  newest: ["Newest first", (a, b) => b.runnerId.localeCompare(a.runnerId)],
  oldest: ["Oldest first", (a, b) => a.runnerId.localeCompare(b.runnerId)],
  name: ["Name", (a, b) => a.name.localeCompare(b.name) || a.runnerId.localeCompare(b.runnerId)],
};

export function phaseBadge(phase: RunnerPhase): HTMLElement {
  const name = phase === RunnerPhase.UNSPECIFIED ? "UNKNOWN" : enumName(RunnerPhase, phase);
  return h("span", { class: `badge phase-${name.toLowerCase()}` }, name);
}

function providerName(p: RunnerProvider): string {
  return { [RunnerProvider.AWS_EC2]: "AWS EC2", [RunnerProvider.GCP]: "Google Cloud" }[p as number] ?? enumName(RunnerProvider, p);
}

/** The region the runner was configured with, and the one it reports when that differs. */
function region(r: Runner): string {
  const configured = r.spec?.configuration?.region ?? "";
  const reported = r.status?.region ?? "";
  if (configured && reported && configured !== reported) return `${configured} (reports ${reported})`;
  return configured || reported || "—";
}

/**
 * The runners, newest first unless another order is chosen, searched by name, a page at a time
 * (choice of size). ListRunners can do none of that, so the page reads them all first.
 */
export async function runnersPage(ctx: Ctx): Promise<Node> {
  const listed = await allRunners(ctx.api);
  const runners = listed.runners;
  const cutHint = h("p", { class: "hint", hidden: !listed.cut }, `Only the first ${MAX_RUNNERS} runners (by creation) are shown and searched.`);
  const search = h("input", { name: "search", type: "search", placeholder: "Search by name", value: ctx.params.get("q") ?? "" });
  const sort = h(
    "select",
    { name: "sort" },
    Object.entries(SORTS).map(([key, [label]]) => h("option", { value: key, selected: key === ctx.params.get("sort") }, label)),
  );
  const size = h(
    "select",
    { name: "pageSize" },
    PAGE_SIZES.map((n) => h("option", { value: n, selected: String(n) === ctx.params.get("size") }, `${n} per page`)),
  );
  const row = (r: Runner) =>
    h(
      "tr",
      { "data-runner-id": r.runnerId },
      h("td", {}, h("a", { href: `#/runners/${r.runnerId}` }, runnerLabel(r, runners))),
      h("td", {}, providerName(r.provider)),
      h("td", {}, phaseBadge(r.status?.phase ?? RunnerPhase.UNSPECIFIED)),
      h("td", { class: "region" }, region(r)),
      h("td", {}, r.status?.version || "—"),
      h("td", {}, formatTime(r.createdAt && timestampDate(r.createdAt))),
    );
  const columns = ["Name", "Provider", "Phase", "Region", "Version", "Created"];
  const body = h("tbody", {});
  let shown: Runner[] = [];
  const pager = localPager((first, last) => {
    const rows = shown.slice(first, last).map(row);
    const empty = runners.length === 0 ? "No runners yet." : "No runner's name matches.";
    body.replaceChildren(...(rows.length > 0 ? rows : [h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty))]));
  });
  /** `shown`: the runners that match the search, in the chosen order. */
  const select = () => {
    const words = search.value.trim().toLowerCase();
    shown = runners.filter((r) => r.name.toLowerCase().includes(words)).sort(SORTS[sort.value][1]);
  };
  const update = () => {
    select();
    pager.reset(shown.length, Number(size.value));
    // The choices stay in the address, for a reload or a link, without loading the page again.
    const params = new URLSearchParams({ q: search.value.trim(), sort: sort.value, size: size.value });
    history.replaceState(null, "", `#/runners?${params}`);
  };
  search.addEventListener("input", update);
  sort.addEventListener("change", update);
  size.addEventListener("change", update);
  update();

  // Live: a runner created, changed or deleted elsewhere shows here (the same page of the list
  // stays); after every (re)start of the watch, the whole list is read again.
  const changed = () => {
    select();
    pager.refresh(shown.length);
  };
  const pending = new Set<string>();
  const fetchPending = coalesce(
    async () => {
      for (const id of [...pending]) {
        pending.delete(id);
        const found = await ctx.api.runners.getRunner({ runnerId: id }).then(
          (res) => res.runner,
          (e: unknown) => {
            if (ConnectError.from(e).code === Code.NotFound) return undefined;
            throw e;
          },
        );
        const at = runners.findIndex((r) => r.runnerId === id);
        if (found && at >= 0) runners[at] = found;
        else if (found) runners.push(found);
        else if (at >= 0) runners.splice(at, 1);
      }
      if (!ctx.signal.aborted) changed();
    },
    (e) => console.warn("reading a changed runner failed", e),
  );
  const indicator = live(ctx.api, {
    signal: ctx.signal,
    filters: [{ resourceType: ResourceType.RUNNER }],
    onEvent: (event) => {
      if (event.operation === ResourceOperation.DELETE) {
        pending.delete(event.resourceId);
        const at = runners.findIndex((r) => r.runnerId === event.resourceId);
        if (at >= 0) runners.splice(at, 1);
        changed();
        return;
      }
      // A runner beyond the first MAX_RUNNERS is not followed; a new one is.
      if (event.operation === ResourceOperation.CREATE || runners.some((r) => r.runnerId === event.resourceId)) {
        pending.add(event.resourceId);
        void fetchPending();
      }
    },
    resync: async () => {
      const again = await allRunners(ctx.api);
      runners.splice(0, runners.length, ...again.runners);
      cutHint.hidden = !again.cut;
      if (!ctx.signal.aborted) changed();
    },
  });
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c))));
  return h(
    "section",
    {},
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "title" }, h("h1", {}, "Runners"), indicator),
      h("a", { class: "button", href: "#/runners/new" }, "New runner"),
    ),
    h("div", { class: "list-controls" }, search, sort, size),
    cutHint,
    tableWrap(h("table", { class: "runners" }, head, body)),
    pager.element,
  );
}

/** How to start the runner's process: the agent with the API URL the console uses. */
function agentCommand(ctx: Ctx, runnerId: string, exchangeToken: string): string {
  return `runner-agent --api-url ${ctx.settings.apiUrl.replace(/\/+$/, "")} --runner-id ${runnerId} --exchange-token ${exchangeToken}`;
}

/**
 * The exchange token of a new runner (or a new one for it), shown once, with the runner's id
 * and the command that starts its process, each with a copy button.
 */
function exchangeTokenPanel(ctx: Ctx, title: string, token: string, runner: Runner): HTMLElement {
  return h(
    "div",
    { class: "card token-panel" },
    h("h2", {}, title),
    h("p", {}, "Runner ID: ", h("code", { class: "runner-id" }, runner.runnerId)),
    h(
      "p",
      {},
      "The runner process redeems this exchange token for its access token (within 24 hours, once). ",
      h("strong", {}, "It is shown only now."),
    ),
    secretBox("exchange-token", token),
    h("p", {}, "Start the runner process with it:"),
    secretBox("agent-command", agentCommand(ctx, runner.runnerId, token), "Copy command"),
    h("p", {}, h("a", { href: `#/runners/${runner.runnerId}` }, `Open ${runner.name}`)),
  );
}

export async function createRunnerPage(ctx: Ctx): Promise<Node> {
  const name = h("input", { name: "name", required: true, minlength: 3, maxlength: 127 });
  const provider = h(
    "select",
    { name: "provider" },
    h("option", { value: RunnerProvider.AWS_EC2 }, "AWS EC2"),
    h("option", { value: RunnerProvider.GCP }, "Google Cloud"),
  );
  const regionInput = h("input", { name: "region", placeholder: "eu-central-1" });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h1", {}, "New runner"),
    errors,
    field("Name", name, undefined, "name"),
    field("Provider", provider, undefined, "provider"),
    field("Region", regionInput, "Required for AWS EC2.", "spec.configuration.region"),
    h("button", { type: "submit" }, "Create runner"),
  );
  const page = h("section", { class: "narrow" }, form);
  onSubmit(form, errors, async () => {
    const res = await ctx.api.runners.createRunner({
      name: name.value.trim(),
      provider: Number(provider.value),
      spec: { configuration: { region: regionInput.value.trim() } },
    });
    page.replaceChildren(exchangeTokenPanel(ctx, "Runner created", res.exchangeToken, res.runner!));
  });
  return page;
}

/** A runner's details as the runner page shows them: the terms and descriptions of its list. */
function runnerDetails(r: Runner): HTMLElement[] {
  const config = r.spec?.configuration;
  const status = r.status;
  return (
    [
      ["ID", h("code", {}, r.runnerId)],
      ["Phase", phaseBadge(status?.phase ?? RunnerPhase.UNSPECIFIED)],
      ["Status message", status?.message || "—"],
      ["Provider", providerName(r.provider)],
      ["Region", region(r)],
      ["Version", status?.version || "—"],
      ["Release channel", enumName(RunnerReleaseChannel, config?.releaseChannel ?? 0)],
      ["Auto-update", config?.autoUpdate ? "on" : "off"],
      ["Created", formatTime(r.createdAt && timestampDate(r.createdAt))],
      ["Updated", formatTime(r.updatedAt && timestampDate(r.updatedAt))],
    ] as [string, string | Node][]
  ).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]);
}

export async function runnerPage(ctx: Ctx, id: string): Promise<Node> {
  const { runner } = await ctx.api.runners.getRunner({ runnerId: id });
  // As loaded: what the update form compares with (live changes leave the form alone).
  const r = runner!;
  const config = r.spec?.configuration;
  const status = r.status;
  // Changed in place by live updates, which may come before the page is shown.
  const details = h("dl", { class: "details" }, runnerDetails(r));

  // Update: only what changed is sent.
  const name = h("input", { name: "name", value: r.name, minlength: 3, maxlength: 127 });
  const channel = h(
    "select",
    { name: "releaseChannel" },
    [RunnerReleaseChannel.STABLE, RunnerReleaseChannel.LATEST].map((c) =>
      h("option", { value: c, selected: c === config?.releaseChannel }, enumName(RunnerReleaseChannel, c)),
    ),
  );
  const autoUpdate = h("input", { name: "autoUpdate", type: "checkbox", checked: config?.autoUpdate ?? false });
  const logLevel = h(
    "select",
    { name: "logLevel" },
    h("option", { value: 0 }, "(unchanged)"),
    [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR].map((l) =>
      h("option", { value: l, selected: l === config?.logLevel }, enumName(LogLevel, l)),
    ),
  );
  const updateErrors = h("div", {});
  const update = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, "Update"),
    updateErrors,
    field("Name", name, undefined, "name"),
    field("Release channel", channel, undefined, "spec.configuration.releaseChannel"),
    field("Log level", logLevel, undefined, "spec.configuration.logLevel"),
    h("label", { class: "check" }, autoUpdate, " Auto-update"),
    h("button", { type: "submit" }, "Save"),
  );
  onSubmit(update, updateErrors, async () => {
    const configuration: Partial<UpdateRunnerRequest_RunnerConfiguration> = {};
    if (Number(channel.value) !== config?.releaseChannel) configuration.releaseChannel = Number(channel.value);
    if (autoUpdate.checked !== config?.autoUpdate) configuration.autoUpdate = autoUpdate.checked;
    if (Number(logLevel.value) && Number(logLevel.value) !== config?.logLevel) configuration.logLevel = Number(logLevel.value);
    await ctx.api.runners.updateRunner({
      runnerId: r.runnerId,
      name: name.value.trim() !== r.name ? name.value.trim() : undefined,
      spec: Object.keys(configuration).length ? { configuration } : undefined,
    });
    ctx.go(`#/runners/${r.runnerId}?saved=1`);
  });

  const actionErrors = h("div", {});
  const extra = h("div", {});
  const newToken = h("button", { type: "button", class: "secondary" }, "New exchange token");
  newToken.addEventListener("click", () =>
    void attempt(actionErrors, actions, async () => {
      const res = await ctx.api.runners.createRunnerToken({ runnerId: r.runnerId });
      waiting?.remove();
      extra.replaceChildren(exchangeTokenPanel(ctx, "New exchange token", res.exchangeToken, r));
    }),
  );
  // Never signed up: say what it waits for, and how to start it.
  let waiting: HTMLElement | null =
    status?.phase === RunnerPhase.CREATED
      ? h(
          "div",
          { class: "card waiting" },
          h("h2", {}, "Waiting for its runner process"),
          h(
            "p",
            {},
            "No runner process has signed up for this runner yet. Start one with an exchange token (",
            h("strong", {}, "New exchange token"),
            " below makes one; the one shown at creation works too, once, for 24 hours):",
          ),
          h("pre", { class: "command" }, agentCommand(ctx, r.runnerId, "EXCHANGE_TOKEN")),
        )
      : null;
  const remove = h("button", { type: "button", class: "danger" }, "Delete runner");
  remove.addEventListener("click", async () => {
    const force = h("input", { type: "checkbox", name: "force" });
    const question = `Delete the runner “${r.name}”? A runner that has signed up is removed once it acknowledges.`;
    const extraOption = h("label", { class: "check" }, force, " Force: remove it and everything under it at once");
    if (!(await confirmDialog(question, "Delete", extraOption))) return;
    const ok = await attempt(actionErrors, actions, async () => {
      await ctx.api.runners.deleteRunner({ runnerId: r.runnerId, force: force.checked });
    });
    if (ok) ctx.go("#/runners");
  });
  const actions = h("div", { class: "actions" }, newToken, remove);
  const links = h(
    "p",
    { class: "links" },
    h("a", { href: `#/classes?runner=${r.runnerId}` }, "Environment classes"),
    h("a", { href: `#/scm?runner=${r.runnerId}` }, "SCM integrations"),
    h("a", { href: `#/policies?runner=${r.runnerId}` }, "Policies"),
    h("a", { href: `#/tokens?runner=${r.runnerId}` }, "Host tokens"),
    h("a", { href: `#/context?runner=${r.runnerId}` }, "Parse a context URL"),
  );
  const heading = h("h1", { class: "runner-name" }, r.name);
  const gone = h("div", {});
  const configuration = configurationPanel(ctx, r.runnerId);

  // Live: the runner's phase, status and settings, and its classes and integrations, follow the
  // changes made elsewhere (its process signing up, reporting, another admin's edits). The form
  // below keeps what is being typed.
  const showRunner = (next: Runner) => {
    heading.textContent = next.name;
    details.replaceChildren(...runnerDetails(next));
    if (waiting && next.status?.phase !== RunnerPhase.CREATED) {
      waiting.remove();
      waiting = null;
    }
  };
  const showGone = () => {
    gone.replaceChildren(h("div", { class: "error", role: "alert", "data-code": "deleted" }, "This runner has been deleted."));
    actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
  };
  const reread = coalesce(
    async () => {
      try {
        const res = await ctx.api.runners.getRunner({ runnerId: id });
        if (!ctx.signal.aborted) showRunner(res.runner!);
      } catch (e) {
        if (ConnectError.from(e).code !== Code.NotFound) throw e;
        showGone();
      }
    },
    (e) => console.warn("reading the runner again failed", e),
  );
  const indicator = live(ctx.api, {
    signal: ctx.signal,
    filters: [
      { resourceType: ResourceType.RUNNER, resourceIds: [id] },
      // Events name the class or integration, not its runner: every one of the organization's
      // is watched, and the runner's list is read again on each.
      { resourceType: ResourceType.ENVIRONMENT_CLASS },
      { resourceType: ResourceType.RUNNER_SCM_INTEGRATION },
      { resourceType: ResourceType.RUNNER_LLM_INTEGRATION },
    ],
    onEvent: (event) => {
      if (event.resourceType === ResourceType.RUNNER) {
        if (event.operation === ResourceOperation.DELETE) showGone();
        else void reread();
      } else {
        void configuration.refresh(event.resourceType);
      }
    },
    resync: async () => {
      await Promise.all([reread(), configuration.refresh()]);
    },
  });

  return h(
    "section",
    {},
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "title" }, heading, indicator),
      h("a", { href: "#/runners" }, "All runners"),
    ),
    ctx.params.has("saved") && notice("Saved."),
    gone,
    waiting,
    details,
    links,
    configuration.element,
    actionErrors,
    actions,
    extra,
    update,
    // Who else may use it: a failure to read that leaves the rest of the page.
    await sharingPanel(ctx, r).catch((e) => h("div", { class: "sharing-panel" }, errorBox(problemOf(e)))),
  );
}

/** Reads every item of a paged list (pages of 100). */
async function readAll<T>(page: (token: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const { items, next } = await page(token);
    all.push(...items);
    token = next ?? "";
  } while (token);
  return all;
}

/**
 * The runner's environment classes, SCM integrations and LLM integrations, each list read again
 * by `refresh(type)` (all three without a type). Reads of one list never overlap: a burst of
 * events makes one read, and one more after it.
 */
function configurationPanel(ctx: Ctx, runnerId: string): { element: HTMLElement; refresh(type?: ResourceType): Promise<void> } {
  const filter = { runnerIds: [runnerId] };
  const section = (kind: string, title: string, empty: string, read: () => Promise<HTMLElement[]>) => {
    const list = h("ul", { class: "config-list", "data-list": kind }, h("li", { class: "empty" }, "Loading…"));
    const errors = h("div", {});
    const refresh = coalesce(
      async () => {
        const items = await read();
        errors.replaceChildren();
        list.replaceChildren(...(items.length > 0 ? items : [h("li", { class: "empty" }, empty)]));
      },
      (e) => errors.replaceChildren(errorBox(problemOf(e))),
    );
    return { element: h("div", { class: "config-section" }, h("h3", {}, title), errors, list), refresh };
  };
  const classes = section("classes", "Environment classes", "None yet.", async () =>
    (
      await readAll(async (token) => {
        const res = await ctx.api.config.listEnvironmentClasses({ pagination: { pageSize: 100, token }, filter });
        return { items: res.environmentClasses, next: res.pagination?.nextToken };
      })
    ).map((c) =>
      h(
        "li",
        { "data-class-id": c.id },
        c.displayName,
        " ",
        h("span", { class: `badge ${c.enabled ? "enabled" : "disabled"}` }, c.enabled ? "Enabled" : "Disabled"),
      ),
    ),
  );
  const scm = section("scm", "SCM integrations", "None yet.", async () =>
    (
      await readAll(async (token) => {
        const res = await ctx.api.config.listSCMIntegrations({ pagination: { pageSize: 100, token }, filter });
        return { items: res.integrations, next: res.pagination?.nextToken };
      })
    ).map((i) => h("li", { "data-integration-id": i.id }, i.host, i.oauth ? " (OAuth)" : "", i.pat ? " (PAT)" : "")),
  );
  const llm = section("llm", "LLM integrations", "None yet.", async () =>
    (
      await readAll(async (token) => {
        const res = await ctx.api.config.listLLMIntegrations({ pagination: { pageSize: 100, token }, filter });
        return { items: res.integrations, next: res.pagination?.nextToken };
      })
    ).map((i) => h("li", { "data-integration-id": i.id }, i.endpoint)),
  );
  const byType = new Map<ResourceType, { refresh(): Promise<void> }>([
    [ResourceType.ENVIRONMENT_CLASS, classes],
    [ResourceType.RUNNER_SCM_INTEGRATION, scm],
    [ResourceType.RUNNER_LLM_INTEGRATION, llm],
  ]);
  return {
    element: h("div", { class: "card runner-configuration" }, h("h2", {}, "Configuration"), classes.element, scm.element, llm.element),
    async refresh(type?: ResourceType) {
      if (type === undefined) await Promise.all([classes.refresh(), scm.refresh(), llm.refresh()]);
      else await byType.get(type)?.refresh();
    },
  };
}
