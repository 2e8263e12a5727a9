// Host authentication tokens: the signed-in user's SCM credentials, one per runner and host.
// Listing and deleting them, adding a personal access token, and the ways to get a token for a
// host (the provider's token page, or OAuth through the runner) from CheckAuthenticationForHost.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { enumName, problemOf } from "../api";
import { errorBox, field, formatTime, h } from "../dom";
import type { Subject } from "../gen/gitpod/v1/identity_pb";
import { HostAuthenticationTokenSource, type HostAuthenticationToken } from "../gen/gitpod/v1/runner_configuration_pb";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, pickableRunners, removeButton, runnerNames, runnerSelect } from "./common";

/** The page's address for a runner and host: the next step of a context URL that needs a token. */
export function tokensHref(runnerId: string, host: string): string {
  return `#/tokens?${new URLSearchParams({ runner: runnerId, host })}`;
}

export async function tokensPage(ctx: Ctx): Promise<Node> {
  const [{ subject }, runners] = await Promise.all([
    ctx.api.identity.getAuthenticatedIdentity({}),
    pickableRunners(ctx.api),
  ]);
  const me = subject!;
  const name = runnerNames(runners);
  const listErrors = h("div", {});
  const row = (t: HostAuthenticationToken) => {
    const remove = removeButton(ctx, listErrors, `Delete your token for ${t.host} on ${name(t.runnerId)}?`, () =>
      ctx.api.config.deleteHostAuthenticationToken({ id: t.id }),
    );
    return h(
      "tr",
      { "data-token-id": t.id },
      h("td", {}, name(t.runnerId)),
      h("td", {}, t.host),
      h("td", {}, enumName(HostAuthenticationTokenSource, t.source)),
      h("td", {}, t.expiresAt ? formatTime(timestampDate(t.expiresAt)) : "never"),
      h("td", {}, t.scopes.map((s) => h("code", { class: "kv" }, s))),
      h("td", {}, remove),
    );
  };
  const columns = ["Runner", "Host", "Source", "Expires", "Scopes", ""];
  const table = await pagedTable("host-tokens", columns, "You have no host tokens yet.", async (token) => {
    const res = await ctx.api.config.listHostAuthenticationTokens({
      pagination: { pageSize: 25, token },
      filter: { subjectId: me.id },
    });
    return { rows: res.tokens.map(row), next: res.pagination?.nextToken };
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Host tokens")),
    h(
      "p",
      { class: "hint" },
      "Your credentials for the SCM hosts of each runner: ParseContextURL and the other SCM calls use them. " +
        "The server keeps them encrypted and never shows them again.",
    ),
    listErrors,
    table,
    runners.length > 0 ? await addForm(ctx, runners, me) : h("p", {}, "Create a runner first."),
  );
}

/** Adding a personal access token for a runner's host, with how to get one or to use OAuth. */
async function addForm(ctx: Ctx, runners: Runner[], me: Subject): Promise<HTMLElement> {
  const runner = runnerSelect(runners, ctx.params.get("runner") ?? runners[0].runnerId);
  runner.required = true;
  const host = h("select", { name: "host", required: true });
  const token = h("input", { name: "token", type: "password", autocomplete: "off", required: true });
  const how = h("div", { class: "how" });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card add-token", novalidate: true },
    h("h2", {}, "Add a personal access token"),
    errors,
    field("Runner", runner, undefined, "runnerId"),
    field("Host", host, "The runner's SCM integrations that accept personal access tokens.", "host"),
    how,
    field("Token", token, undefined, "token"),
    h("button", { type: "submit" }, "Add token"),
  );
  /** How to get a token for the chosen host: its provider's page, and OAuth when offered. */
  const showHow = async () => {
    how.replaceChildren();
    if (!host.value) return;
    try {
      const auth = await ctx.api.runners.checkAuthenticationForHost({ runnerId: runner.value, host: host.value });
      const pat = auth.supportsPat;
      const oauth = auth.supportsOauth2;
      how.replaceChildren(
        auth.authenticated ? h("p", { class: "hint" }, `You already have a token for ${host.value} on this runner: delete it above to add another.`) : "",
        pat
          ? h(
              "p",
              { class: "hint" },
              h("a", { href: pat.createUrl, target: "_blank", rel: "noreferrer", class: "pat-link" }, `Create a token at ${auth.scmName || host.value}`),
              pat.requiredScopes.length > 0 ? ` with the scopes ${pat.requiredScopes.join(", ")}.` : ".",
            )
          : "",
        oauth
          ? h(
              "p",
              { class: "hint" },
              "Or ",
              h("a", { href: oauth.authUrl, target: "_blank", rel: "noreferrer", class: "oauth-link" }, `authorize with ${auth.scmName || host.value}`),
              ": the runner stores the token for you.",
            )
          : "",
      );
    } catch (e) {
      how.replaceChildren(errorBox(problemOf(e)));
    }
  };
  const loadHosts = async () => {
    errors.replaceChildren();
    let hosts: string[] = [];
    try {
      const res = await ctx.api.config.listSCMIntegrations({ pagination: { pageSize: 100 }, filter: { runnerIds: [runner.value] } });
      hosts = res.integrations.filter((i) => i.pat).map((i) => i.host);
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    }
    const wanted = ctx.params.get("host");
    host.replaceChildren(
      hosts.length === 0 ? h("option", { value: "" }, "(no host of this runner takes tokens)") : "",
      ...hosts.map((x) => h("option", { value: x, selected: x === wanted }, x)),
    );
    await showHow();
  };
  runner.addEventListener("change", () => void loadHosts());
  host.addEventListener("change", () => void showHow());
  await loadHosts();
  onSubmit(form, errors, async () => {
    await ctx.api.config.createHostAuthenticationToken({
      runnerId: runner.value,
      host: host.value,
      token: token.value.trim(),
      source: HostAuthenticationTokenSource.PAT,
      subject: { id: me.id, principal: me.principal },
    });
    ctx.go(`#/tokens?runner=${runner.value}`);
  });
  return form;
}
