// Runner policies: which groups hold which role on one runner; granting, changing (after a
// confirmation) and revoking. Groups are picked and shown by name (GroupService.ListGroups),
// with their ids small beside them.

import { enumName, problemOf } from "../api";
import { confirmDialog, errorBox, field, h } from "../dom";
import type { Group } from "../gen/gitpod/v1/group_pb";
import { RunnerRole, type RunnerPolicy } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, pickableRunners, removeButton, runnerSelect } from "./common";
import { allGroups } from "./groups";

const ROLES = [RunnerRole.ADMIN, RunnerRole.USER];

function roleSelect(selected: RunnerRole): HTMLSelectElement {
  return h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === selected }, enumName(RunnerRole, r))));
}

/** A group's name and, small, its id; just the id for a group the listing does not show. */
function groupCell(groupId: string, byId: Map<string, Group>): HTMLElement {
  const group = byId.get(groupId);
  const id = h("small", { class: "hint" }, h("code", {}, groupId));
  return group ? h("span", { class: "group-name" }, group.name, " ", id) : id;
}

function groupName(groupId: string, byId: Map<string, Group>): string {
  return byId.get(groupId)?.name ?? groupId;
}

export async function policiesPage(ctx: Ctx): Promise<Node> {
  const [runners, groups] = await Promise.all([pickableRunners(ctx.api), allGroups(ctx.api)]);
  const byId = new Map(groups.map((g) => [g.id, g]));
  const head = h("div", { class: "page-head" }, h("h1", {}, "Runner policies"));
  if (runners.length === 0) return h("section", {}, head, h("p", {}, "Create a runner first."));
  const runnerId = ctx.params.get("runner") ?? runners[0].runnerId;
  const picker = runnerSelect(runners, runnerId);
  picker.addEventListener("change", () => ctx.go(`#/policies?runner=${picker.value}`));
  head.append(field("Runner", picker));

  const listErrors = h("div", {});
  const row = (p: RunnerPolicy) => {
    const role = roleSelect(p.role);
    role.addEventListener("change", async () => {
      listErrors.replaceChildren();
      const to = Number(role.value) as RunnerRole;
      const question = `Change group ${groupName(p.groupId, byId)}'s role on this runner from ${enumName(RunnerRole, p.role)} to ${enumName(RunnerRole, to)}?`;
      if (!(await confirmDialog(question, "Change role"))) {
        role.value = String(p.role);
        return;
      }
      try {
        await ctx.api.runners.updateRunnerPolicy({ runnerId, groupId: p.groupId, role: to });
        p.role = to;
      } catch (e) {
        role.value = String(p.role);
        listErrors.replaceChildren(errorBox(problemOf(e)));
      }
    });
    const question = `Remove group ${groupName(p.groupId, byId)}'s role on this runner?`;
    const remove = removeButton(ctx, listErrors, question, () => ctx.api.runners.deleteRunnerPolicy({ runnerId, groupId: p.groupId }), "Remove");
    return h("tr", { "data-group-id": p.groupId }, h("td", {}, groupCell(p.groupId, byId)), h("td", {}, role), h("td", {}, remove));
  };
  const empty = "No policies: only organization admins and the runner's creator manage it.";
  const table = await pagedTable("policies", ["Group", "Role", ""], empty, async (token) => {
    const res = await ctx.api.runners.listRunnerPolicies({ runnerId, pagination: { pageSize: 25, token } });
    return { rows: res.policies.map(row), next: res.pagination?.nextToken };
  });

  const groupId = h(
    "select",
    { name: "groupId", required: true },
    h("option", { value: "" }, "Choose a group"),
    groups.map((g) => h("option", { value: g.id }, `${g.name} (${g.memberCount} member${g.memberCount === 1 ? "" : "s"})`)),
  );
  const chosenId = h("small", { class: "hint", "data-chosen-group": "" });
  groupId.addEventListener("change", () => chosenId.replaceChildren(groupId.value && h("code", {}, groupId.value)));
  const role = roleSelect(RunnerRole.USER);
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, "Grant a group a role"),
    errors,
    field("Group", groupId, h("span", {}, "The organization's groups, by name. ", chosenId), "groupId"),
    field("Role", role, undefined, "role"),
    h("button", { type: "submit" }, "Grant"),
  );
  onSubmit(form, errors, async () => {
    await ctx.api.runners.createRunnerPolicy({ runnerId, groupId: groupId.value, role: Number(role.value) });
    ctx.go(`#/policies?runner=${runnerId}`);
  });

  return h(
    "section",
    {},
    head,
    listErrors,
    table,
    form,
  );
}
