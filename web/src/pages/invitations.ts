// Invitations: the organization's invite link (OrganizationService CreateOrganizationInvite and
// GetOrganizationInvite), for organization admins to share; and the page the link opens,
// #/join/<invite id>: the organization's name and member count (GetOrganizationInviteSummary),
// and either the identity providers to sign in through (ListLoginProviders for the invite), or,
// for someone already signed in, JoinOrganization.

import { markSsoStarted, problemOf } from "../api";
import { confirmDialog, errorBox, h, notice, secretBox } from "../dom";
import type { Ctx } from "../main";

/** The link that opens the join page of `inviteId` on this console. */
function inviteLink(inviteId: string): string {
  return `${location.origin}${location.pathname}#/join/${inviteId}`;
}

export async function invitationsPage(ctx: Ctx): Promise<Node> {
  const { user } = await ctx.api.users.getAuthenticatedUser({});
  const organizationId = user!.organizationId;
  // The organization's current invite (the server makes one when there is none).
  const { invite } = await ctx.api.organizations.getOrganizationInvite({ organizationId });
  const current = h("div", { class: "invite" });
  const errors = h("div", {});
  const show = (inviteId: string) =>
    current.replaceChildren(
      h("p", {}, "Share this link with the people you invite: they open it, sign in through an identity provider of your organization, and join as members."),
      secretBox("invite-link", inviteLink(inviteId), "Copy link"),
    );
  show(invite!.inviteId);
  const renew = h("button", { type: "button", class: "secondary" }, "Create a new invite link");
  renew.addEventListener("click", async () => {
    if (!(await confirmDialog("Create a new invite link? The current one stops working.", "Create new link"))) return;
    renew.disabled = true;
    errors.replaceChildren();
    try {
      const created = await ctx.api.organizations.createOrganizationInvite({ organizationId });
      show(created.invite!.inviteId);
      current.prepend(notice("A new invite link was created; the old one no longer works."));
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    } finally {
      renew.disabled = false;
    }
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Invitations")),
    h(
      "p",
      { class: "hint" },
      "People whose email domain has no identity provider of your organization join by invitation: " +
        "they sign in through one of your organization's active identity providers (SSO).",
    ),
    errors,
    h("div", { class: "card" }, current, h("div", { class: "actions" }, renew)),
  );
}

export async function joinPage(ctx: Ctx, inviteId: string): Promise<Node> {
  const summary = await ctx.api.organizations.getOrganizationInviteSummary({ inviteId });
  const members = summary.organizationMemberCount;
  const head = [
    h("h1", {}, `Join ${summary.organizationName}`),
    h(
      "p",
      { class: "invite-summary" },
      `You were invited to the organization ${summary.organizationName} (${members} ${members === 1 ? "member" : "members"}).`,
    ),
  ];
  const errors = h("div", {});
  if (ctx.signedIn) {
    const join = h("button", { type: "button" }, `Join ${summary.organizationName}`);
    const done = h("div", {});
    join.addEventListener("click", async () => {
      join.disabled = true;
      errors.replaceChildren();
      try {
        await ctx.api.organizations.joinOrganization({ joinId: { case: "inviteId", value: inviteId } });
        done.replaceChildren(notice(`You are now a member of ${summary.organizationName}.`));
        join.remove();
      } catch (e) {
        errors.replaceChildren(errorBox(problemOf(e)));
        join.disabled = false;
      }
    });
    return h("section", { class: "card join narrow" }, head, errors, done, join);
  }
  const { loginProviders } = await ctx.api.accounts.listLoginProviders({ filter: { inviteId } });
  // The API names an organization's own identity provider "custom" and gives no display name
  // to those who are not signed in: they are numbered when there are several.
  const buttons = loginProviders.map((p, i) => {
    const name = p.provider === "custom" ? `SSO${loginProviders.length > 1 ? ` (${i + 1})` : ""}` : p.provider;
    const link = h("a", { class: "button login-provider", href: p.loginUrl }, `Sign in with ${name}`);
    // The session the provider's sign-in starts is looked for when the console loads again.
    link.addEventListener("click", () => markSsoStarted(true));
    return link;
  });
  return h(
    "section",
    { class: "card join" },
    head,
    errors,
    buttons.length > 0
      ? [h("p", {}, "Sign in through your organization's identity provider to join:"), h("div", { class: "actions" }, buttons)]
      : h("p", { class: "empty" }, `${summary.organizationName} has no active identity provider to sign in through; ask its admins.`),
    h("p", { class: "hint" }, "Already have a personal access token? ", h("a", { href: "#/signin" }, "Sign in"), " and open this link again."),
  );
}
