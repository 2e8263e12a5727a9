// SSO: the organization's OpenID Connect identity providers (OrganizationService's SSO
// configurations), for organization admins. The list shows each one's provider, client, email
// domains and state; an admin adds one (the server checks the issuer's discovery document),
// activates or deactivates it (an inactive one admits no new sign-ins) and deletes it. The client
// secret is write-only: typed when adding one or replacing it, never shown.

import { enumName, problemOf } from "../api";
import { errorBox, field, h, notice } from "../dom";
import { SSOConfigurationState, type SSOConfiguration } from "../gen/gitpod/v1/organization_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, removeButton } from "./common";

/** "a.test, b.test" as a list of trimmed, non-empty items. */
function list(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function ssoPage(ctx: Ctx): Promise<Node> {
  const { user } = await ctx.api.users.getAuthenticatedUser({});
  const organizationId = user!.organizationId;
  const listErrors = h("div", {});
  const saved = h("div", {});

  const row = (c: SSOConfiguration) => {
    const active = c.state === SSOConfigurationState.SSO_CONFIGURATION_STATE_ACTIVE;
    const toggle = h("button", { type: "button", class: "secondary", "data-action": "toggle" }, active ? "Deactivate" : "Activate");
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      listErrors.replaceChildren();
      try {
        await ctx.api.organizations.updateSSOConfiguration({
          ssoConfigurationId: c.id,
          state: active ? SSOConfigurationState.SSO_CONFIGURATION_STATE_INACTIVE : SSOConfigurationState.SSO_CONFIGURATION_STATE_ACTIVE,
        });
        ctx.go(location.hash);
      } catch (e) {
        listErrors.replaceChildren(errorBox(problemOf(e)));
        toggle.disabled = false;
      }
    });
    // Replacing the client secret: typed, sent, never read back.
    const secret = h("input", { name: "clientSecret", type: "password", autocomplete: "new-password", placeholder: "New client secret", "aria-label": `New client secret for ${c.displayName || c.issuerUrl}` });
    const replace = h("button", { type: "submit", class: "secondary" }, "Replace secret");
    const replaceForm = h("form", { class: "replace-secret" }, secret, replace);
    replaceForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!secret.value) return;
      replace.disabled = true;
      listErrors.replaceChildren();
      try {
        await ctx.api.organizations.updateSSOConfiguration({ ssoConfigurationId: c.id, clientSecret: secret.value });
        secret.value = "";
        saved.replaceChildren(notice(`The client secret of ${c.displayName || c.issuerUrl} was replaced.`));
      } catch (e) {
        listErrors.replaceChildren(errorBox(problemOf(e)));
      } finally {
        replace.disabled = false;
      }
    });
    const remove = removeButton(
      ctx,
      listErrors,
      `Delete the SSO configuration for ${c.displayName || c.issuerUrl}? Its people can no longer sign in through it.`,
      () => ctx.api.organizations.deleteSSOConfiguration({ ssoConfigurationId: c.id }),
    );
    return h(
      "tr",
      { "data-sso-id": c.id },
      h("td", { class: "display-name" }, c.displayName || "—"),
      h("td", { class: "issuer" }, h("code", {}, c.issuerUrl)),
      h("td", { class: "client-id" }, h("code", {}, c.clientId)),
      h("td", { class: "domains" }, c.emailDomains.map((d) => h("code", { class: "kv" }, d))),
      h(
        "td",
        { class: "state" },
        h("span", { class: `badge ${active ? "enabled" : "disabled"}` }, enumName(SSOConfigurationState, c.state).replace("SSO_CONFIGURATION_STATE_", "")),
      ),
      h("td", { class: "actions" }, toggle, replaceForm, remove),
    );
  };
  const columns = ["Name", "Issuer", "Client ID", "Email domains", "State", ""];
  const table = await pagedTable("sso-configurations", columns, "No SSO configurations yet.", async (token) => {
    const res = await ctx.api.organizations.listSSOConfigurations({ organizationId, pagination: { pageSize: 25, token } });
    return { rows: res.ssoConfigurations.map(row), next: res.pagination?.nextToken };
  });

  const displayName = h("input", { name: "displayName", maxlength: 128, autocomplete: "off", placeholder: "Acme Keycloak" });
  const issuerUrl = h("input", { name: "issuerUrl", type: "url", required: true, autocomplete: "off", placeholder: "https://id.example.com/realms/acme" });
  const clientId = h("input", { name: "clientId", required: true, autocomplete: "off" });
  const clientSecret = h("input", { name: "clientSecret", type: "password", required: true, autocomplete: "new-password" });
  const emailDomains = h("input", { name: "emailDomains", required: true, autocomplete: "off", placeholder: "example.com" });
  const scopes = h("input", { name: "additionalScopes", autocomplete: "off", placeholder: "groups" });
  const errors = h("div", {});
  const callback = `${location.origin}/auth/sso/callback`;
  const form = h(
    "form",
    { class: "card add-sso", novalidate: true },
    h("h2", {}, "Add an identity provider"),
    h(
      "p",
      { class: "hint" },
      "Register an OpenID Connect client at your provider with the redirect URI ",
      h("code", { class: "redirect-uri" }, callback),
      " (the server's public URL followed by /auth/sso/callback), then enter its issuer and client here.",
    ),
    errors,
    field("Name", displayName, "What this list calls the provider.", "displayName"),
    field("Issuer URL", issuerUrl, "The server reads its /.well-known/openid-configuration.", "issuerUrl"),
    field("Client ID", clientId, undefined, "clientId"),
    field("Client secret", clientSecret, "Stored encrypted; never shown again.", "clientSecret"),
    field("Email domains", emailDomains, "People with these email domains sign in through this provider (comma separated).", "emailDomains"),
    field("Additional scopes", scopes, "Besides openid, email and profile (comma separated).", "additionalScopes"),
    h("button", { type: "submit" }, "Add identity provider"),
  );
  onSubmit(form, errors, async () => {
    await ctx.api.organizations.createSSOConfiguration({
      organizationId,
      displayName: displayName.value.trim(),
      issuerUrl: issuerUrl.value.trim(),
      clientId: clientId.value.trim(),
      clientSecret: clientSecret.value,
      emailDomains: list(emailDomains.value),
      additionalScopes: list(scopes.value),
    });
    ctx.go(location.hash);
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "SSO")),
    h(
      "p",
      { class: "hint" },
      "The OpenID Connect identity providers of your organization, each for the people of its email domains. " +
        "Client secrets are stored encrypted and never shown.",
    ),
    saved,
    listErrors,
    table,
    form,
  );
}
