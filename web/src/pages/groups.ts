// Groups (GroupService): the organization's groups, created, renamed and described, deleted
// (after a confirmation); a group's members, users and service accounts added and removed by
// name; and its roles, on the organization and on runners. Sharing a runner with one user or
// service account, or with a group, is on the runner's page ([sharingPanel]).

import { enumName, problemOf, type Api } from "../api";
import { confirmDialog, errorBox, field, h } from "../dom";
import { ResourceType } from "../gen/gitpod/v1/event_pb";
import { ResourceRole, type Group, type GroupMembership, type RoleAssignment } from "../gen/gitpod/v1/group_pb";
import { Principal } from "../gen/gitpod/v1/identity_pb";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pickableRunners, removeButton, runnerNames, runnerSelect, tableWrap } from "./common";

/** The roles a group can hold on the organization, and on a runner. */
const ORG_ROLES = [ResourceRole.ORG_RUNNERS_ADMIN, ResourceRole.ORG_GROUPS_ADMIN, ResourceRole.ORG_AUDIT_LOG_READER];
const RUNNER_ROLES = [ResourceRole.RUNNER_USER, ResourceRole.RUNNER_ADMIN];

function roleName(role: ResourceRole): string {
  return enumName(ResourceRole, role);
}

function roleSelect(roles: ResourceRole[], name = "role"): HTMLSelectElement {
  return h("select", { name }, roles.map((r) => h("option", { value: r }, roleName(r))));
}

/** Every item of a listing, read in pages of 100: `load(token)` gives a page and the next token. */
async function allPages<T>(load: (token: string, pageSize: number) => Promise<[T[], string | undefined]>): Promise<T[]> {
  const items: T[] = [];
  let token = "";
  do {
    const [page, next] = await load(token, 100);
    items.push(...page);
    token = next ?? "";
  } while (token);
  return items;
}

/** Every group of the organization, by name; with `direct`, the direct-share groups instead. */
export async function allGroups(api: Api, direct = false): Promise<Group[]> {
  const groups = await allPages<Group>(async (token, pageSize) => {
    const res = await api.groups.listGroups({ pagination: { pageSize, token }, filter: direct ? { directShare: true } : {} });
    return [res.groups, res.pagination?.nextToken];
  });
  return groups.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Every membership of a group. */
function allMemberships(api: Api, groupId: string): Promise<GroupMembership[]> {
  return allPages<GroupMembership>(async (token, pageSize) => {
    const res = await api.groups.listMemberships({ groupId, pagination: { pageSize, token } });
    return [res.members, res.pagination?.nextToken];
  });
}

/** Every user and service account of the organization: the members of its `org-members` group. */
export async function organizationMembers(api: Api, groups: Group[]): Promise<GroupMembership[]> {
  const everyone = groups.find((g) => g.systemManaged);
  if (!everyone) return [];
  const members = await allMemberships(api, everyone.id);
  return members.sort((a, b) => a.name.localeCompare(b.name));
}

/** Every role assignment matching `filter`. */
function allAssignments(api: Api, filter: { groupId?: string; resourceId?: string }): Promise<RoleAssignment[]> {
  return allPages<RoleAssignment>(async (token, pageSize) => {
    const res = await api.groups.listRoleAssignments({ filter, pagination: { pageSize, token } });
    return [res.assignments, res.pagination?.nextToken];
  });
}

function kindOf(m: GroupMembership): string {
  return m.subject?.principal === Principal.SERVICE_ACCOUNT ? "service account" : "user";
}

/** A member picker by name: `value` is `PRINCIPAL:ID`. */
function memberSelect(members: GroupMembership[], name: string): HTMLSelectElement {
  return h(
    "select",
    { name, required: true },
    h("option", { value: "" }, "Choose a user or service account"),
    members.map((m) => h("option", { value: `${m.subject?.principal}:${m.subject?.id}` }, `${m.name} (${kindOf(m)})`)),
  );
}

function chosenSubject(select: HTMLSelectElement): { principal: Principal; id: string } {
  const [principal, id] = select.value.split(":");
  return { principal: Number(principal) as Principal, id };
}

export async function groupsPage(ctx: Ctx): Promise<Node> {
  const groups = await allGroups(ctx.api);
  const listErrors = h("div", {});
  const rows = groups.map((g) =>
    h(
      "tr",
      { "data-group-id": g.id },
      h("td", {}, h("a", { href: `#/groups/${g.id}` }, g.name), " ", h("small", { class: "hint" }, h("code", {}, g.id))),
      h("td", {}, g.description || "—"),
      h("td", { class: "member-count" }, String(g.memberCount)),
      h("td", {}, g.systemManaged ? "system" : ""),
    ),
  );
  const table = tableWrap(
    h(
      "table",
      { class: "groups" },
      h("thead", {}, h("tr", {}, ["Name", "Description", "Members", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows),
    ),
  );

  const name = h("input", { name: "name", required: true, minlength: 3, maxlength: 80 });
  const description = h("input", { name: "description", maxlength: 255 });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card create-group", novalidate: true },
    h("h2", {}, "Create a group"),
    errors,
    field("Name", name, "3 to 80 characters, unique in the organization.", "name"),
    field("Description", description, undefined, "description"),
    h("button", { type: "submit" }, "Create group"),
  );
  onSubmit(form, errors, async () => {
    const { identity } = ctx.api;
    const { organizationId } = await identity.getAuthenticatedIdentity({});
    const res = await ctx.api.groups.createGroup({ organizationId, name: name.value.trim(), description: description.value.trim() });
    ctx.go(`#/groups/${res.group!.id}`);
  });
  return h("section", {}, h("div", { class: "page-head" }, h("h1", {}, "Groups")), listErrors, table, form);
}

export async function groupPage(ctx: Ctx, id: string): Promise<Node> {
  const { group } = await ctx.api.groups.getGroup({ group: { case: "id", value: id } });
  const g = group!;
  const [groups, memberships, assignments, runners] = await Promise.all([
    allGroups(ctx.api),
    allMemberships(ctx.api, g.id),
    allAssignments(ctx.api, { groupId: g.id }),
    pickableRunners(ctx.api),
  ]);
  const head = h("div", { class: "page-head" }, h("h1", {}, g.name), h("a", { href: "#/groups" }, "All groups"));
  const managed = g.systemManaged || g.directShare;

  // Rename and describe; delete.
  const name = h("input", { name: "name", value: g.name, required: true, minlength: 3, maxlength: 80, disabled: managed });
  const description = h("input", { name: "description", value: g.description, maxlength: 255 });
  const editErrors = h("div", {});
  const edit = h(
    "form",
    { class: "card edit-group", novalidate: true },
    h("h2", {}, "Name and description"),
    editErrors,
    field("Name", name, managed && "Managed by the system: it keeps its name.", "name"),
    field("Description", description, undefined, "description"),
    h("button", { type: "submit" }, "Save"),
  );
  onSubmit(edit, editErrors, async () => {
    await ctx.api.groups.updateGroup({ groupId: g.id, name: name.value.trim(), description: description.value.trim() });
    ctx.go(`#/groups/${g.id}`);
  });
  const deleteErrors = h("div", {});
  const del = h("button", { type: "button", class: "danger" }, "Delete group");
  del.addEventListener("click", async () => {
    const question = `Delete group ${g.name}? Its members lose the roles it holds (its runner policies too).`;
    if (!(await confirmDialog(question, "Delete"))) return;
    try {
      await ctx.api.groups.deleteGroup({ groupId: g.id });
      ctx.go("#/groups");
    } catch (e) {
      deleteErrors.replaceChildren(errorBox(problemOf(e)));
    }
  });

  // Members.
  const memberErrors = h("div", {});
  const memberRows = memberships.map((m) =>
    h(
      "tr",
      { "data-member-id": m.subject?.id ?? "" },
      h("td", { class: "member-name" }, m.name),
      h("td", {}, kindOf(m)),
      h(
        "td",
        {},
        !managed &&
          removeButton(ctx, memberErrors, `Remove ${m.name} from group ${g.name}?`, () =>
            ctx.api.groups.deleteMembership({ membershipId: m.id }), "Remove"),
      ),
    ),
  );
  const none = h("tr", {}, h("td", { colspan: 3, class: "empty" }, "No members yet."));
  const membersTable = tableWrap(
    h(
      "table",
      { class: "members" },
      h("thead", {}, h("tr", {}, ["Name", "Kind", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, memberRows.length ? memberRows : [none]),
    ),
  );
  let addMember: HTMLElement | false = false;
  if (!managed) {
    const inGroup = new Set(memberships.map((m) => m.subject?.id));
    const candidates = (await organizationMembers(ctx.api, groups)).filter((m) => !inGroup.has(m.subject?.id));
    const who = memberSelect(candidates, "member");
    const errors = h("div", {});
    const form = h(
      "form",
      { class: "card add-member", novalidate: true },
      h("h2", {}, "Add a member"),
      errors,
      field("User or service account", who, undefined, "subject"),
      h("button", { type: "submit" }, "Add member"),
    );
    onSubmit(form, errors, async () => {
      await ctx.api.groups.createMembership({ groupId: g.id, subject: chosenSubject(who) });
      ctx.go(`#/groups/${g.id}`);
    });
    addMember = form;
  }

  // Roles: on the organization and on runners.
  const names = runnerNames(runners);
  const roleErrors = h("div", {});
  const roleRows = assignments.map((a) =>
    h(
      "tr",
      { "data-assignment-id": a.id },
      h("td", {}, a.resourceType === ResourceType.ORGANIZATION ? "the organization" : `runner ${names(a.resourceId)}`),
      h("td", { class: "role" }, roleName(a.resourceRole)),
      h(
        "td",
        {},
        removeButton(ctx, roleErrors, `Take ${roleName(a.resourceRole)} away from group ${g.name}?`, () =>
          ctx.api.groups.deleteRoleAssignment({ assignmentId: a.id }), "Remove"),
      ),
    ),
  );
  const noRoles = h("tr", {}, h("td", { colspan: 3, class: "empty" }, "No roles: its members can do what every member can."));
  const rolesTable = tableWrap(
    h(
      "table",
      { class: "roles" },
      h("thead", {}, h("tr", {}, ["On", "Role", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, roleRows.length ? roleRows : [noRoles]),
    ),
  );
  const orgRole = roleSelect(ORG_ROLES, "orgRole");
  const orgErrors = h("div", {});
  const orgForm = h(
    "form",
    { class: "card grant-org-role", novalidate: true },
    h("h2", {}, "Grant a role on the organization"),
    orgErrors,
    field("Role", orgRole, undefined, "resourceRole"),
    h("button", { type: "submit" }, "Grant on the organization"),
  );
  onSubmit(orgForm, orgErrors, async () => {
    await ctx.api.groups.createRoleAssignment({
      groupId: g.id,
      resourceType: ResourceType.ORGANIZATION,
      resourceId: g.organizationId,
      resourceRole: Number(orgRole.value),
    });
    ctx.go(`#/groups/${g.id}`);
  });
  const runnerPicker = runnerSelect(runners, null);
  runnerPicker.required = true;
  const runnerRole = roleSelect(RUNNER_ROLES, "runnerRole");
  const runnerErrors = h("div", {});
  const runnerForm = h(
    "form",
    { class: "card grant-runner-role", novalidate: true },
    h("h2", {}, "Grant a role on a runner"),
    runnerErrors,
    field("Runner", runnerPicker, undefined, "resourceId"),
    field("Role", runnerRole, undefined, "resourceRole"),
    h("button", { type: "submit" }, "Grant on the runner"),
  );
  onSubmit(runnerForm, runnerErrors, async () => {
    await ctx.api.groups.createRoleAssignment({
      groupId: g.id,
      resourceType: ResourceType.RUNNER,
      resourceId: runnerPicker.value,
      resourceRole: Number(runnerRole.value),
    });
    ctx.go(`#/groups/${g.id}`);
  });

  return h(
    "section",
    {},
    head,
    g.description && h("p", { class: "description" }, g.description),
    edit,
    !g.systemManaged && h("div", { class: "actions" }, del, deleteErrors),
    h("h2", {}, `Members (${g.memberCount})`),
    memberErrors,
    membersTable,
    addMember,
    h("h2", {}, "Roles"),
    roleErrors,
    rolesTable,
    orgForm,
    runners.length > 0 && runnerForm,
  );
}

/**
 * The runner page's sharing: who has a role on the runner (groups, and users or service accounts
 * it is shared with directly), sharing it with one user or service account, or with a group,
 * and taking a share or a group's role away.
 */
export async function sharingPanel(ctx: Ctx, runner: Runner): Promise<HTMLElement> {
  const runnerId = runner.runnerId;
  const [groups, direct, assignments] = await Promise.all([
    allGroups(ctx.api),
    allGroups(ctx.api, true),
    allAssignments(ctx.api, { resourceId: runnerId }),
  ]);
  const members = await organizationMembers(ctx.api, groups);
  const byId = new Map([...groups, ...direct].map((g) => [g.id, g]));
  // The one member of each direct-share group that holds a role here.
  const holders = new Map<string, GroupMembership>();
  await Promise.all(
    assignments
      .filter((a) => byId.get(a.groupId)?.directShare)
      .map(async (a) => {
        const [m] = await allMemberships(ctx.api, a.groupId);
        if (m) holders.set(a.groupId, m);
      }),
  );
  const errors = h("div", {});
  const rows = assignments.map((a) => {
    const holder = holders.get(a.groupId);
    const who = holder
      ? h("span", { class: "shared-with" }, holder.name, " ", h("small", { class: "hint" }, kindOf(holder)))
      : h("span", { class: "group-name" }, byId.get(a.groupId)?.name ?? a.groupId, " ", h("small", { class: "hint" }, "group"));
    const remove = holder
      ? removeButton(ctx, errors, `Stop sharing this runner with ${holder.name}?`, () =>
          ctx.api.groups.unshareResourceWithPrincipal({
            resourceType: ResourceType.RUNNER,
            resourceId: runnerId,
            principal: holder.subject!.principal,
            principalId: holder.subject!.id,
          }), "Unshare")
      : removeButton(ctx, errors, `Take group ${byId.get(a.groupId)?.name ?? a.groupId}'s role on this runner away?`, () =>
          ctx.api.groups.deleteRoleAssignment({ assignmentId: a.id }), "Remove");
    return h("tr", { "data-group-id": a.groupId }, h("td", {}, who), h("td", { class: "role" }, roleName(a.resourceRole)), h("td", {}, remove));
  });
  const none = h("tr", {}, h("td", { colspan: 3, class: "empty" }, "Not shared: only admins see it."));
  const table = tableWrap(
    h(
      "table",
      { class: "sharing" },
      h("thead", {}, h("tr", {}, ["With", "Role", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.length ? rows : [none]),
    ),
  );

  const who = memberSelect(members, "principal");
  const shareRole = roleSelect(RUNNER_ROLES, "shareRole");
  const shareErrors = h("div", {});
  const shareForm = h(
    "form",
    { class: "card share-principal", novalidate: true },
    h("h3", {}, "Share with a user or service account"),
    shareErrors,
    field("User or service account", who, undefined, "principalId"),
    field("Role", shareRole, undefined, "role"),
    h("button", { type: "submit" }, "Share"),
  );
  onSubmit(shareForm, shareErrors, async () => {
    const subject = chosenSubject(who);
    await ctx.api.groups.shareResourceWithPrincipal({
      resourceType: ResourceType.RUNNER,
      resourceId: runnerId,
      principal: subject.principal,
      principalId: subject.id,
      role: Number(shareRole.value),
    });
    ctx.go(`#/runners/${runnerId}`);
  });

  const group = h(
    "select",
    { name: "shareGroup", required: true },
    h("option", { value: "" }, "Choose a group"),
    groups.map((g) => h("option", { value: g.id }, `${g.name} (${g.memberCount} member${g.memberCount === 1 ? "" : "s"})`)),
  );
  const groupRole = roleSelect(RUNNER_ROLES, "groupRole");
  const groupErrors = h("div", {});
  const groupForm = h(
    "form",
    { class: "card share-group", novalidate: true },
    h("h3", {}, "Share with a group"),
    groupErrors,
    field("Group", group, undefined, "groupId"),
    field("Role", groupRole, undefined, "resourceRole"),
    h("button", { type: "submit" }, "Share with the group"),
  );
  onSubmit(groupForm, groupErrors, async () => {
    await ctx.api.groups.createRoleAssignment({
      groupId: group.value,
      resourceType: ResourceType.RUNNER,
      resourceId: runnerId,
      resourceRole: Number(groupRole.value),
    });
    ctx.go(`#/runners/${runnerId}`);
  });

  return h("div", { class: "sharing-panel" }, h("h2", {}, "Sharing"), errors, table, shareForm, groupForm);
}
