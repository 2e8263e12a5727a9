// SCM integrations: the list (all runners or one), creating one from the SCMs the runner's schema
// offers, and deleting one.

import { problemOf } from "../api";
import { errorBox, field, h } from "../dom";
import type { RunnerConfigurationSchema_SCMConfigSchema, SCMIntegration } from "../gen/gitpod/v1/runner_configuration_pb";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, pickableRunners, removeButton, runnerFilter, runnerNames, runnerSelect } from "./common";

export async function scmPage(ctx: Ctx): Promise<Node> {
  const runners = await pickableRunners(ctx.api);
  const name = runnerNames(runners);
  const selected = ctx.params.get("runner");
  const filter = runnerFilter(ctx, runners, "#/scm");

  const listErrors = h("div", {});
  const row = (i: SCMIntegration) => {
    const remove = removeButton(ctx, listErrors, `Delete the ${i.host} integration? Its host tokens are deleted too.`, () =>
      ctx.api.config.deleteSCMIntegration({ id: i.id }),
    );
    return h(
      "tr",
      { "data-integration-id": i.id },
      h("td", {}, name(i.runnerId)),
      h("td", {}, i.scmId),
      h("td", {}, i.host, i.virtualDirectory ? ` ${i.virtualDirectory}` : ""),
      h("td", {}, i.oauth ? h("code", {}, i.oauth.clientId) : "—"),
      h("td", {}, i.pat ? "yes" : "no"),
      h("td", {}, remove),
    );
  };
  const columns = ["Runner", "SCM", "Host", "OAuth client", "PAT", ""];
  const table = await pagedTable("integrations", columns, "No SCM integrations.", async (token) => {
    const res = await ctx.api.config.listSCMIntegrations({
      pagination: { pageSize: 25, token },
      filter: { runnerIds: selected ? [selected] : [] },
    });
    return { rows: res.integrations.map(row), next: res.pagination?.nextToken };
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "SCM integrations"), field("Runner", filter)),
    listErrors,
    table,
    runners.length > 0 ? await createForm(ctx, runners, selected) : h("p", {}, "Create a runner first."),
  );
}

async function createForm(ctx: Ctx, runners: Runner[], selected: string | null): Promise<HTMLElement> {
  const runner = runnerSelect(runners, selected ?? runners[0].runnerId);
  const scm = h("select", { name: "scmId" });
  const host = h("input", { name: "host", placeholder: "github.com", required: true });
  const pat = h("input", { name: "pat", type: "checkbox", checked: true });
  const clientId = h("input", { name: "oauthClientId", autocomplete: "off" });
  const secret = h("input", { name: "oauthPlaintextClientSecret", type: "password", autocomplete: "off" });
  const issuer = h("input", { name: "issuerUrl", placeholder: "https://login.microsoftonline.com/TENANT/v2.0" });
  const virtualDirectory = h("input", { name: "virtualDirectory", placeholder: "/tfs" });
  const hints = h("div", { class: "hint" });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, "New SCM integration"),
    errors,
    field("Runner", runner, undefined, "runnerId"),
    field("SCM", scm, undefined, "scmId"),
    field("Host", host, undefined, "host"),
    hints,
    h("label", { class: "check", "data-field": "pat" }, pat, " Personal access tokens"),
    field("OAuth client ID", clientId, "Needs the runner's public key: the secret is sealed to it.", "oauthClientId"),
    field("OAuth client secret", secret, undefined, "oauthPlaintextClientSecret"),
    field("Issuer URL", issuer, "Azure DevOps (Microsoft Entra ID) only.", "issuerUrl"),
    field("Virtual directory", virtualDirectory, "Azure DevOps Server only.", "virtualDirectory"),
    h("button", { type: "submit" }, "Create integration"),
  );
  let offered: RunnerConfigurationSchema_SCMConfigSchema[] = [];
  /**
   * What the chosen runner's process offers for the SCM: its OAuth callback URL (to register with
   * the OAuth application) once it signed up and reported one, and its PAT hint.
   */
  const showScm = () => {
    const s = offered.find((o) => o.scmId === scm.value);
    const chosen = runners.find((r) => r.runnerId === runner.value);
    const signedUp = (chosen?.status?.publicKey.length ?? 0) > 0;
    host.value = s?.defaultHosts[0] ?? "";
    const oauth = !s?.oauth
      ? h("p", { class: "oauth-hint" }, "This runner does not offer OAuth for this SCM (runner-agent does with --public-url).")
      : !signedUp
        ? h("p", { class: "oauth-hint" }, "The OAuth callback URL is known once the runner's process has signed up.")
        : s.oauth.callbackUrl
          ? h("p", { class: "oauth-hint" }, "OAuth callback URL: ", h("code", { class: "callback-url" }, s.oauth.callbackUrl))
          : "";
    clientId.disabled = secret.disabled = !s?.oauth;
    hints.replaceChildren(
      oauth,
      s?.pat ? h("p", {}, s.pat.description, " ", s.pat.docsLink && h("a", { href: s.pat.docsLink, target: "_blank", rel: "noreferrer" }, "docs")) : "",
    );
  };
  const loadSchema = async () => {
    errors.replaceChildren();
    try {
      const { schema } = await ctx.api.config.getRunnerConfigurationSchema({ runnerId: runner.value });
      offered = schema?.scm ?? [];
    } catch (e) {
      offered = [];
      errors.replaceChildren(errorBox(problemOf(e)));
    }
    scm.replaceChildren(...offered.map((s) => h("option", { value: s.scmId }, s.name)));
    showScm();
  };
  runner.addEventListener("change", () => void loadSchema());
  scm.addEventListener("change", showScm);
  await loadSchema();
  const optional = (input: HTMLInputElement) => input.value.trim() || undefined;
  onSubmit(form, errors, async () => {
    await ctx.api.config.createSCMIntegration({
      runnerId: runner.value,
      scmId: scm.value,
      host: host.value.trim(),
      pat: pat.checked,
      oauthClientId: optional(clientId),
      oauthPlaintextClientSecret: optional(secret),
      issuerUrl: optional(issuer),
      virtualDirectory: optional(virtualDirectory),
    });
    ctx.go(`#/scm?runner=${runner.value}`);
  });
  return form;
}
