// Runners: the list with phase badges (sorted, searched, paged), creating one (its id, exchange
// token and agent command shown once), a runner's details, updating and deleting it.

import { timestampDate } from "@bufbuild/protobuf/wkt";
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
  const { runners, cut } = await allRunners(ctx.api);
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
  const update = () => {
    const words = search.value.trim().toLowerCase();
    shown = runners.filter((r) => r.name.toLowerCase().includes(words)).sort(SORTS[sort.value][1]);
    pager.reset(shown.length, Number(size.value));
    // The choices stay in the address, for a reload or a link, without loading the page again.
    const params = new URLSearchParams({ q: search.value.trim(), sort: sort.value, size: size.value });
    history.replaceState(null, "", `#/runners?${params}`);
  };
  search.addEventListener("input", update);
  sort.addEventListener("change", update);
  size.addEventListener("change", update);
  update();
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c))));
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Runners"), h("a", { class: "button", href: "#/runners/new" }, "New runner")),
    h("div", { class: "list-controls" }, search, sort, size),
    cut && h("p", { class: "hint" }, `Only the first ${MAX_RUNNERS} runners (by creation) are shown and searched.`),
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

export async function runnerPage(ctx: Ctx, id: string): Promise<Node> {
  const { runner } = await ctx.api.runners.getRunner({ runnerId: id });
  const r = runner!;
  const config = r.spec?.configuration;
  const status = r.status;
  const details = h(
    "dl",
    { class: "details" },
    ...(
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
    ).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );

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
  const waiting =
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
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", { class: "runner-name" }, r.name), h("a", { href: "#/runners" }, "All runners")),
    ctx.params.has("saved") && notice("Saved."),
    waiting,
    details,
    links,
    actionErrors,
    actions,
    extra,
    update,
    // Who else may use it: a failure to read that leaves the rest of the page.
    await sharingPanel(ctx, r).catch((e) => h("div", { class: "sharing-panel" }, errorBox(problemOf(e)))),
  );
}
