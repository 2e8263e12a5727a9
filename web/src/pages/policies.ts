// Runner policies: which groups hold which role on one runner; granting, changing (after a
// confirmation) and revoking. Groups are named by id: this API has no way to list them yet.

import { enumName, problemOf } from "../api";
import { confirmDialog, errorBox, field, h } from "../dom";
import { RunnerRole, type RunnerPolicy } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, pickableRunners, removeButton, runnerSelect } from "./common";

const ROLES = [RunnerRole.ADMIN, RunnerRole.USER];

function roleSelect(selected: RunnerRole): HTMLSelectElement {
  return h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === selected }, enumName(RunnerRole, r))));
}

export async function policiesPage(ctx: Ctx): Promise<Node> {
  const runners = await pickableRunners(ctx.api);
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
      const question = `Change group ${p.groupId}'s role on this runner from ${enumName(RunnerRole, p.role)} to ${enumName(RunnerRole, to)}?`;
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
    const question = `Remove group ${p.groupId}'s role on this runner?`;
    const remove = removeButton(ctx, listErrors, question, () => ctx.api.runners.deleteRunnerPolicy({ runnerId, groupId: p.groupId }), "Remove");
    return h("tr", { "data-group-id": p.groupId }, h("td", {}, h("code", {}, p.groupId)), h("td", {}, role), h("td", {}, remove));
  };
  const empty = "No policies: only organization admins and the runner's creator manage it.";
  const table = await pagedTable("policies", ["Group", "Role", ""], empty, async (token) => {
    const res = await ctx.api.runners.listRunnerPolicies({ runnerId, pagination: { pageSize: 25, token } });
    return { rows: res.policies.map(row), next: res.pagination?.nextToken };
  });

  const groupId = h("input", { name: "groupId", placeholder: "group id (UUID)", required: true });
  const role = roleSelect(RunnerRole.USER);
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card", novalidate: true },
    h("h2", {}, "Grant a group a role"),
    errors,
    field("Group", groupId, "From runner-server admin list groups.", "groupId"),
    field("Role", role, undefined, "role"),
    h("button", { type: "submit" }, "Grant"),
  );
  onSubmit(form, errors, async () => {
    await ctx.api.runners.createRunnerPolicy({ runnerId, groupId: groupId.value.trim(), role: Number(role.value) });
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
