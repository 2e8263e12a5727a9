// Access tokens: the signed-in user's personal access tokens, which act as that user through the
// API (the console signs in with one). Creating one (a description and an expiry of at most 90
// days) shows its value once, with a copy button; the list shows when each was created, expires
// and was last used; deleting one stops it at once.

import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { field, formatTime, h, notice, secretBox } from "../dom";
import type { PersonalAccessToken } from "../gen/gitpod/v1/user_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, removeButton } from "./common";

/** The expiries offered, in days; the API allows at most 90. */
const EXPIRIES = [7, 30, 90];

export async function accessTokensPage(ctx: Ctx): Promise<Node> {
  const { user } = await ctx.api.users.getAuthenticatedUser({});
  const me = user!;
  const listErrors = h("div", {});
  const when = (t: Timestamp | undefined) => (t ? formatTime(timestampDate(t)) : "never");
  const row = (t: PersonalAccessToken) =>
    h(
      "tr",
      { "data-pat-id": t.id },
      h("td", { class: "description" }, t.description || "—"),
      h("td", {}, when(t.createdAt)),
      h("td", {}, when(t.expiresAt)),
      h("td", {}, t.lastUsed ? when(t.lastUsed) : "not yet"),
      h(
        "td",
        {},
        removeButton(ctx, listErrors, `Delete the token "${t.description}"? Whatever uses it stops working at once.`, () =>
          ctx.api.users.deletePersonalAccessToken({ personalAccessTokenId: t.id }),
        ),
      ),
    );
  const columns = ["Description", "Created", "Expires", "Last used", ""];
  const listSlot = h("div", {});
  const showList = async () => {
    listSlot.replaceChildren(
      await pagedTable("access-tokens", columns, "You have no access tokens.", async (token) => {
        const res = await ctx.api.users.listPersonalAccessTokens({ pagination: { pageSize: 25, token } });
        return { rows: res.personalAccessTokens.map(row), next: res.pagination?.nextToken };
      }),
    );
  };
  await showList();

  const description = h("input", { name: "description", required: true, maxlength: 255, autocomplete: "off" });
  const expiry = h(
    "select",
    { name: "expiry" },
    EXPIRIES.map((d) => h("option", { value: String(d), selected: d === 30 }, `${d} days`)),
  );
  const created = h("div", { class: "created-token" });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card add-access-token", novalidate: true },
    h("h2", {}, "Create a token"),
    errors,
    field("Description", description, "What it is for, to tell your tokens apart.", "description"),
    field("Expires in", expiry, undefined, "validFor"),
    h("button", { type: "submit" }, "Create token"),
  );
  onSubmit(form, errors, async () => {
    const days = Number(expiry.value);
    const { token } = await ctx.api.users.createPersonalAccessToken({
      userId: me.id,
      description: description.value.trim(),
      validFor: { seconds: BigInt(days * 86_400) },
    });
    description.value = "";
    created.replaceChildren(
      notice("Token created. Copy it now: it is not shown again."),
      secretBox("new-access-token", token),
    );
    await showList();
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Access tokens")),
    h(
      "p",
      { class: "hint" },
      `Personal access tokens act as you (${me.name}) through the API and the SDKs. The server keeps only a hash of each.`,
    ),
    created,
    listErrors,
    listSlot,
    form,
  );
}
