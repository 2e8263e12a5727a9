// Members: the users of the signed-in user's organization, with their roles and status. An
// organization admin changes a role (after confirming), suspends or reactivates a user, and
// removes one; a member sees the list only. The server keeps the last admin who is not suspended
// (its refusal is shown).

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { enumName, problemOf } from "../api";
import { confirmDialog, errorBox, formatTime, h } from "../dom";
import { OrganizationRole, type OrganizationMember } from "../gen/gitpod/v1/organization_pb";
import { UserStatus } from "../gen/gitpod/v1/user_pb";
import type { Ctx } from "../main";
import { pagedTable, removeButton } from "./common";

export async function membersPage(ctx: Ctx): Promise<Node> {
  const { user } = await ctx.api.users.getAuthenticatedUser({});
  const me = user!;
  const organizationId = me.organizationId;
  const own = await ctx.api.organizations.listMembers({ organizationId, filter: { userIds: [me.id] } });
  const admin = own.members[0]?.role === OrganizationRole.ADMIN;
  const errors = h("div", {});
  /** Runs a change after confirming it; shows the list again, or the server's refusal. */
  const change = async (question: string, label: string, action: () => Promise<unknown>): Promise<boolean> => {
    if (!(await confirmDialog(question, label))) return false;
    try {
      await action();
      ctx.go(location.hash);
      return true;
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
      return false;
    }
  };
  const row = (m: OrganizationMember) => {
    const suspended = m.status === UserStatus.SUSPENDED;
    const name = m.userId === me.id ? `${m.fullName} (you)` : m.fullName;
    let actions: Node[] = [];
    let role: HTMLElement | string = enumName(OrganizationRole, m.role);
    if (admin) {
      const select = h(
        "select",
        { name: "role", "aria-label": `Role of ${m.fullName}` },
        h("option", { value: String(OrganizationRole.ADMIN), selected: m.role === OrganizationRole.ADMIN }, "ADMIN"),
        h("option", { value: String(OrganizationRole.MEMBER), selected: m.role === OrganizationRole.MEMBER }, "MEMBER"),
      );
      select.addEventListener("change", async () => {
        const wanted = Number(select.value) as OrganizationRole;
        const label = enumName(OrganizationRole, wanted);
        const done = await change(`Make ${m.fullName} ${label === "ADMIN" ? "an admin" : "a member"}?`, "Change role", () =>
          ctx.api.organizations.setRole({ organizationId, userId: m.userId, role: wanted }),
        );
        if (!done) select.value = String(m.role);
      });
      role = select;
      const suspend = h("button", { type: "button", class: "secondary", "data-action": "suspend" }, suspended ? "Reactivate" : "Suspend");
      suspend.addEventListener("click", () =>
        void change(
          suspended ? `Reactivate ${m.fullName}?` : `Suspend ${m.fullName}? Their tokens stop working at once.`,
          suspended ? "Reactivate" : "Suspend",
          () => ctx.api.users.setSuspended({ userId: m.userId, suspended: !suspended }),
        ),
      );
      const remove = removeButton(
        ctx,
        errors,
        `Remove ${m.fullName} from the organization? Their tokens are deleted.`,
        () => ctx.api.users.deleteUser({ userId: m.userId }),
        "Remove",
      );
      actions = [suspend, remove];
    }
    return h(
      "tr",
      { "data-user-id": m.userId },
      h("td", {}, name),
      h("td", {}, role),
      h("td", { class: "status" }, enumName(UserStatus, m.status)),
      h("td", {}, formatTime(m.memberSince ? timestampDate(m.memberSince) : undefined)),
      h("td", { class: "actions" }, actions),
    );
  };
  const columns = ["Name", "Role", "Status", "Member since", ""];
  const table = await pagedTable("org-members", columns, "No members.", async (token) => {
    const res = await ctx.api.organizations.listMembers({ organizationId, pagination: { pageSize: 25, token } });
    return { rows: res.members.map(row), next: res.pagination?.nextToken };
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Members")),
    h(
      "p",
      { class: "hint" },
      admin
        ? "The users of your organization. As an admin you change their roles, suspend them and remove them; the organization always keeps one admin who is not suspended."
        : "The users of your organization. Only organization admins change roles, suspend or remove users.",
    ),
    errors,
    table,
  );
}
