// Service accounts (ServiceAccountService): the organization's non-human members for automation.
// The list with creating and deleting them; one account's page with its tokens: creating one
// (the value shown once, with a copy button), listing and deleting them.
//
// A token is created as the service account itself (CreateServiceAccountToken names no account):
// the console gets a one-hour token of the account (CreateServiceAccountAccessToken), calls with
// it, and deletes that one-hour token again (docs/decisions.md, "Console: service accounts").

import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { connect, problemOf } from "../api";
import { confirmDialog, errorBox, field, formatTime, h, notice, secretBox } from "../dom";
import type { ServiceAccount, ServiceAccountToken } from "../gen/gitpod/v1/service_account_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, removeButton, tableWrap } from "./common";

/** The description the server gives a CreateServiceAccountAccessToken token. */
const ACCESS_TOKEN_DESCRIPTION = "access token created by ";

/** The longest validity of a token the server accepts, in days (as for personal access tokens). */
const MAX_TOKEN_DAYS = 90;

function validUntil(a: ServiceAccount): string {
  return a.validUntil ? formatTime(timestampDate(a.validUntil)) : "no end";
}

export async function serviceAccountsPage(ctx: Ctx): Promise<Node> {
  const listErrors = h("div", {});
  const row = (a: ServiceAccount) =>
    h(
      "tr",
      { "data-service-account-id": a.id },
      h("td", {}, h("a", { href: `#/service-accounts/${a.id}`, class: "service-account-name" }, a.name)),
      h("td", {}, a.description),
      h("td", {}, validUntil(a)),
      h("td", {}, a.suspended ? "suspended" : "active"),
      h(
        "td",
        {},
        removeButton(ctx, listErrors, `Delete service account ${a.name} with its tokens?`, () =>
          ctx.api.serviceAccounts.deleteServiceAccount({ serviceAccountId: a.id }),
        ),
      ),
    );
  const columns = ["Name", "Description", "Valid until", "State", ""];
  const table = await pagedTable("service-accounts", columns, "No service accounts yet.", async (token) => {
    const res = await ctx.api.serviceAccounts.listServiceAccounts({
      pagination: { pageSize: 25, token },
      filter: { includeSuspended: true },
    });
    return { rows: res.serviceAccounts.map(row), next: res.pagination?.nextToken };
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Service accounts")),
    h(
      "p",
      { class: "hint" },
      "Non-human members of the organization, for CI systems and scripts. They act with the roles of their groups; " +
        "only organization admins create and delete them.",
    ),
    listErrors,
    table,
    createForm(ctx),
  );
}

function createForm(ctx: Ctx): HTMLFormElement {
  const name = h("input", { name: "name", required: true, maxlength: 64, autocomplete: "off" });
  const description = h("input", { name: "description", maxlength: 500, autocomplete: "off" });
  const inAYear = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
  const until = h("input", { name: "validUntil", type: "date", required: true, value: inAYear });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card create-service-account", novalidate: true },
    h("h2", {}, "New service account"),
    errors,
    field("Name", name, undefined, "name"),
    field("Description", description, undefined, "description"),
    field("Valid until", until, "Its tokens stop working after this day (UTC).", "validUntil"),
    h("button", { type: "submit" }, "Create service account"),
  );
  onSubmit(form, errors, async () => {
    const end = new Date(`${until.value}T23:59:59Z`);
    const res = await ctx.api.serviceAccounts.createServiceAccount({
      name: name.value.trim(),
      description: description.value.trim(),
      validUntil: Number.isNaN(end.getTime()) ? undefined : timestampFromDate(end),
    });
    ctx.go(`#/service-accounts/${res.serviceAccount!.id}`);
  });
  return form;
}

/** Every token of the account `id` the caller sees (an admin: every service account's). */
async function tokensOf(ctx: Ctx, id: string): Promise<ServiceAccountToken[]> {
  const tokens: ServiceAccountToken[] = [];
  let token = "";
  do {
    const res = await ctx.api.serviceAccounts.listServiceAccountTokens({ pagination: { pageSize: 100, token } });
    tokens.push(...res.tokens.filter((t) => t.serviceAccountId === id));
    token = res.pagination?.nextToken ?? "";
  } while (token);
  return tokens;
}

export async function serviceAccountPage(ctx: Ctx, id: string): Promise<Node> {
  const { serviceAccount } = await ctx.api.serviceAccounts.getServiceAccount({ serviceAccountId: id });
  const a = serviceAccount!;
  const listErrors = h("div", {});
  const body = h("tbody", {});
  const showTokens = async () => {
    const tokens = await tokensOf(ctx, id);
    const none = h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No tokens."));
    body.replaceChildren(
      ...(tokens.length === 0
        ? [none]
        : tokens.map((t) =>
            h(
              "tr",
              { "data-token-id": t.id },
              h("td", { class: "token-description" }, t.description),
              h("td", {}, formatTime(t.createdAt && timestampDate(t.createdAt))),
              h("td", {}, t.expiresAt ? formatTime(timestampDate(t.expiresAt)) : "never"),
              h(
                "td",
                {},
                removeButton(ctx, listErrors, `Delete the token "${t.description}"? It stops working at once.`, () =>
                  ctx.api.serviceAccounts.deleteServiceAccountToken({ serviceAccountTokenId: t.id }),
                ),
              ),
            ),
          )),
    );
  };
  await showTokens();
  const head = h("thead", {}, h("tr", {}, ["Description", "Created", "Expires", ""].map((c) => h("th", {}, c))));
  const remove = h("button", { type: "button", class: "danger" }, "Delete service account");
  remove.addEventListener("click", async () => {
    if (!(await confirmDialog(`Delete service account ${a.name} with its tokens?`, "Delete"))) return;
    try {
      await ctx.api.serviceAccounts.deleteServiceAccount({ serviceAccountId: id });
      ctx.go("#/service-accounts");
    } catch (e) {
      listErrors.replaceChildren(errorBox(problemOf(e)));
    }
  });
  return h(
    "section",
    {},
    h(
      "div",
      { class: "page-head" },
      h("h1", { class: "service-account-name" }, a.name),
      h("a", { href: "#/service-accounts" }, "All service accounts"),
    ),
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "ID"),
      h("dd", {}, h("code", { class: "service-account-id" }, a.id)),
      h("dt", {}, "Description"),
      h("dd", {}, a.description || "—"),
      h("dt", {}, "Valid until"),
      h("dd", {}, validUntil(a)),
      h("dt", {}, "State"),
      h("dd", {}, a.suspended ? "suspended" : "active"),
    ),
    h("h2", {}, "Tokens"),
    listErrors,
    tableWrap(h("table", { class: "service-account-tokens" }, head, body)),
    tokenForm(ctx, a, showTokens),
    h("p", {}, remove),
  );
}

/** Creating a token of the account: its value is shown once, with a copy button. */
function tokenForm(ctx: Ctx, a: ServiceAccount, refresh: () => Promise<void>): HTMLElement {
  const description = h("input", { name: "description", required: true, maxlength: 255, autocomplete: "off" });
  const days = h("input", { name: "validForDays", type: "number", min: 1, max: MAX_TOKEN_DAYS, required: true, value: 30 });
  const shown = h("div", {});
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card create-token", novalidate: true },
    h("h2", {}, "New token"),
    errors,
    field("Description", description, "What uses it, e.g. the CI system.", "description"),
    field("Valid for (days)", days, `1 to ${MAX_TOKEN_DAYS}.`, "validFor"),
    h("button", { type: "submit" }, "Create token"),
    shown,
  );
  onSubmit(form, errors, async () => {
    shown.replaceChildren();
    // Act as the account for one hour, create its token, and delete the one-hour token.
    const { token: acting } = await ctx.api.serviceAccounts.createServiceAccountAccessToken({ serviceAccountId: a.id });
    const asAccount = connect(ctx.settings, acting).serviceAccounts;
    const created = await asAccount.createServiceAccountToken({
      description: description.value.trim(),
      validFor: { seconds: BigInt(Math.round(Number(days.value) * 86_400)), nanos: 0 },
    });
    const own = (await asAccount.listServiceAccountTokens({ pagination: { pageSize: 100 } })).tokens;
    const helper = own
      .filter((t) => t.id !== created.serviceAccountToken?.id && t.description.startsWith(ACCESS_TOKEN_DESCRIPTION))
      .sort((x, y) => (x.id < y.id ? 1 : -1))[0];
    if (helper) await asAccount.deleteServiceAccountToken({ serviceAccountTokenId: helper.id });
    description.value = "";
    shown.replaceChildren(
      notice("Token created. Copy it now: it is not shown again."),
      secretBox("service-account-token", created.token),
    );
    await refresh();
  });
  return form;
}
