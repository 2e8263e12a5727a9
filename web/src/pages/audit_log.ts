// Audit log: who did what in the organization (EventService ListAuditLogs), newest first, for
// organization admins and the holders of RESOURCE_ROLE_ORG_AUDIT_LOG_READER (the navigation shows
// the page to them only; anyone else who opens it sees the server's refusal). Filters by actor,
// subject type and time range, kept in the address (#/audit-log?actor=ID&type=2&from=…&to=…);
// paged by the server's page tokens.

import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { enumName } from "../api";
import { field, formatTime, h } from "../dom";
import { AuditLogEntryKind, ResourceType, type ListAuditLogsResponse_AuditLogEntry } from "../gen/gitpod/v1/event_pb";
import { Principal } from "../gen/gitpod/v1/identity_pb";
import type { Ctx } from "../main";
import { pagedTable } from "./common";

/** The resource types this server records entries about (runner-core's AuditSubject). */
const SUBJECT_TYPES = [
  ResourceType.RUNNER,
  ResourceType.ORGANIZATION,
  ResourceType.USER,
  ResourceType.ENVIRONMENT_CLASS,
  ResourceType.RUNNER_SCM_INTEGRATION,
  ResourceType.HOST_AUTHENTICATION_TOKEN,
  ResourceType.GROUP,
  ResourceType.PERSONAL_ACCESS_TOKEN,
  ResourceType.SERVICE_ACCOUNT,
  ResourceType.SSO_CONFIG,
  ResourceType.RUNNER_LLM_INTEGRATION,
  ResourceType.GROUP_MEMBERSHIP_CHANGED,
  ResourceType.ROLE_ASSIGNMENT,
];

/** `2026-12-06T18:30` as typed in a datetime-local field, read as UTC (the times shown are UTC). */
function utc(value: string): Date | null {
  if (!value) return null;
  const date = new Date(`${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A time for a datetime-local field, in UTC, to the minute. */
function local(iso: string | null): string {
  const date = iso ? new Date(iso) : null;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString().slice(0, 16) : "";
}

/**
 * Names for the actors the entries name: the organization's members, service accounts and
 * runners (the first 100 of each); any other actor is shown by its id.
 */
async function actorNames(ctx: Ctx, organizationId: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const page = { pageSize: 100 };
  const [members, accounts, runners] = await Promise.allSettled([
    ctx.api.organizations.listMembers({ organizationId, pagination: page }),
    ctx.api.serviceAccounts.listServiceAccounts({ pagination: page }),
    ctx.api.runners.listRunners({ pagination: page }),
  ]);
  if (members.status === "fulfilled") for (const m of members.value.members) names.set(m.userId, m.fullName || m.email);
  if (accounts.status === "fulfilled") for (const a of accounts.value.serviceAccounts) names.set(a.id, a.name);
  if (runners.status === "fulfilled") for (const r of runners.value.runners) names.set(r.runnerId, r.name);
  return names;
}

export async function auditLogPage(ctx: Ctx): Promise<Node> {
  const { user } = await ctx.api.users.getAuthenticatedUser({});
  const me = user!;
  const names = await actorNames(ctx, me.organizationId);
  const actor = ctx.params.get("actor") ?? "";
  const type = Number(ctx.params.get("type") ?? "0");
  const from = ctx.params.get("from");
  const to = ctx.params.get("to");

  const row = (e: ListAuditLogsResponse_AuditLogEntry) => {
    const who = names.get(e.actorId);
    const subjectType = enumName(ResourceType, e.subjectType);
    const subject =
      e.subjectType === ResourceType.RUNNER && e.subjectId
        ? h("a", { href: `#/runners/${e.subjectId}` }, e.subjectId)
        : h("code", {}, e.subjectId || "—");
    return h(
      "tr",
      { "data-entry-id": e.id, "data-actor-id": e.actorId, "data-subject-id": e.subjectId },
      h("td", { class: "time" }, formatTime(e.createdAt ? timestampDate(e.createdAt) : undefined)),
      h(
        "td",
        { class: "actor", title: e.actorId },
        who ?? h("code", {}, e.actorId || "—"),
        h("small", { class: "principal" }, ` ${enumName(Principal, e.actorPrincipal)}`),
      ),
      h("td", { class: "action" }, e.action),
      h("td", { class: "subject" }, h("span", { class: "subject-type" }, subjectType), " ", subject),
      h("td", { class: "kind" }, enumName(AuditLogEntryKind, e.kind)),
    );
  };
  const columns = ["Time (UTC)", "Actor", "Action", "Subject", "Kind"];
  const fromDate = from ? new Date(from) : null;
  const toDate = to ? new Date(to) : null;
  const table = await pagedTable("audit-log", columns, "No entries match.", async (token) => {
    const res = await ctx.api.events.listAuditLogs({
      pagination: { pageSize: 25, token },
      filter: {
        actorIds: actor ? [actor] : [],
        subjectTypes: type ? [type] : [],
        from: fromDate && !Number.isNaN(fromDate.getTime()) ? timestampFromDate(fromDate) : undefined,
        to: toDate && !Number.isNaN(toDate.getTime()) ? timestampFromDate(toDate) : undefined,
      },
    });
    return { rows: res.entries.map(row), next: res.pagination?.nextToken };
  });

  const actorSelect = h(
    "select",
    { name: "actor" },
    h("option", { value: "" }, "Anyone"),
    [...names.entries()]
      .sort(([, a], [, b]) => a.localeCompare(b))
      .map(([id, name]) => h("option", { value: id, selected: id === actor }, name)),
    // An actor from the address that has no name here stays chosen.
    actor && !names.has(actor) && h("option", { value: actor, selected: true }, actor),
  );
  const typeSelect = h(
    "select",
    { name: "subjectType" },
    h("option", { value: "0" }, "Any"),
    SUBJECT_TYPES.map((t) => h("option", { value: String(t), selected: t === type }, enumName(ResourceType, t))),
  );
  const fromInput = h("input", { name: "from", type: "datetime-local", value: local(from) });
  const toInput = h("input", { name: "to", type: "datetime-local", value: local(to) });
  const clear = h("button", { type: "button", class: "secondary" }, "Clear");
  clear.addEventListener("click", () => ctx.go("#/audit-log"));
  const filters = h(
    "form",
    { class: "list-controls audit-filters" },
    field("Actor", actorSelect),
    field("Subject type", typeSelect),
    field("From (UTC)", fromInput),
    field("To (UTC)", toInput),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"), clear),
  );
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if (actorSelect.value) query.set("actor", actorSelect.value);
    if (typeSelect.value !== "0") query.set("type", typeSelect.value);
    const f = utc(fromInput.value);
    const t = utc(toInput.value);
    if (f) query.set("from", f.toISOString());
    if (t) query.set("to", t.toISOString());
    const q = query.toString();
    ctx.go(q ? `#/audit-log?${q}` : "#/audit-log");
  });
  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Audit log")),
    h(
      "p",
      { class: "hint" },
      "Who did what in your organization: every write through the API, every read of a secret value and every refused call, newest first. " +
        "The server keeps entries for the days set by --audit-retention-days.",
    ),
    filters,
    table,
  );
}
