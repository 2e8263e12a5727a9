// Pieces several pages share: runner pickers, form submission with errors, paging.

import type { Api } from "../api";
import { problemOf } from "../api";
import { errorBox, h } from "../dom";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";

/** The runners a picker offers: the first 100 (the largest page). */
export async function pickableRunners(api: Api): Promise<Runner[]> {
  return (await api.runners.listRunners({ pagination: { pageSize: 100 } })).runners;
}

/**
 * A runner's name as the console shows it: with the end of its id when another runner among
 * `all` has the same name (names may repeat within an organization; ids never do).
 */
export function runnerLabel(r: Runner, all: Runner[]): string {
  const twins = all.filter((o) => o.name === r.name).length > 1;
  return twins ? `${r.name} (…${r.runnerId.slice(-8)})` : r.name;
}

export function runnerSelect(runners: Runner[], selected: string | null, anyLabel?: string): HTMLSelectElement {
  return h(
    "select",
    { name: "runner" },
    anyLabel !== undefined && h("option", { value: "" }, anyLabel),
    runners.map((r) => h("option", { value: r.runnerId, selected: r.runnerId === selected }, runnerLabel(r, runners))),
  );
}

/** The "All runners" picker of a list page at `page` (#/scm): choosing one shows its items. */
export function runnerFilter(ctx: Ctx, runners: Runner[], page: string): HTMLSelectElement {
  const select = runnerSelect(runners, ctx.params.get("runner"), "All runners");
  select.addEventListener("change", () => ctx.go(select.value ? `${page}?runner=${select.value}` : page));
  return select;
}

export function runnerNames(runners: Runner[]): (id: string) => string {
  const names = new Map(runners.map((r) => [r.runnerId, runnerLabel(r, runners)]));
  return (id) => names.get(id) ?? id;
}

/**
 * Runs a form's action with its button disabled. A failure is shown in `slot` with its code and
 * message, and each field the server names is marked in `form` (by `data-field`).
 */
export async function attempt(
  slot: HTMLElement,
  form: HTMLElement,
  action: () => Promise<void>,
): Promise<boolean> {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => (b.disabled = true));
  slot.replaceChildren();
  form.querySelectorAll(".field-error").forEach((e) => e.remove());
  try {
    await action();
    return true;
  } catch (e) {
    const problem = problemOf(e);
    slot.replaceChildren(errorBox(problem));
    for (const { field, description } of problem.fields) {
      form.querySelector(`[data-field="${CSS.escape(field)}"]`)?.append(h("small", { class: "field-error" }, description));
    }
    return false;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

/** Submits `form` through [attempt]: errors in `slot`, fields marked. */
export function onSubmit(form: HTMLFormElement, slot: HTMLElement, action: () => Promise<void>): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt(slot, form, action);
  });
}

/**
 * A table showing one page at a time, with its pager. `load(token)` returns the page's rows and
 * the next page's token; an empty page shows `empty`.
 */
export async function pagedTable(
  className: string,
  columns: string[],
  empty: string,
  load: (token: string) => Promise<{ rows: HTMLElement[]; next?: string }>,
): Promise<HTMLElement> {
  const body = h("tbody", {});
  const paging = await pager(async (token) => {
    const { rows, next } = await load(token);
    const none = h("tr", {}, h("td", { colspan: columns.length, class: "empty" }, empty));
    body.replaceChildren(...(rows.length > 0 ? rows : [none]));
    return next ?? "";
  });
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c))));
  return h("div", {}, h("table", { class: className }, head, body), paging);
}

/**
 * Forward paging over page tokens, keeping the tokens of earlier pages for "Previous".
 * `load(token)` shows one page and returns the next page's token ("" at the end). The first
 * page's failure is thrown (the page shows it); a later one's is shown by the pager.
 */
export async function pager(load: (token: string) => Promise<string>): Promise<HTMLElement> {
  const tokens = [""];
  let page = 0;
  const previous = h("button", { type: "button", class: "secondary", "data-page": "previous" }, "Previous");
  const following = h("button", { type: "button", class: "secondary", "data-page": "next" }, "Next");
  const label = h("span", { class: "page-number" });
  const errors = h("div", {});
  const show = async (to: number) => {
    const next = await load(tokens[to]);
    page = to;
    tokens.length = page + 1;
    if (next) tokens.push(next);
    label.textContent = `Page ${page + 1}`;
    previous.disabled = page === 0;
    following.disabled = !next;
  };
  const turn = (to: number) => async () => {
    errors.replaceChildren();
    try {
      await show(to);
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    }
  };
  previous.addEventListener("click", () => void turn(page - 1)());
  following.addEventListener("click", () => void turn(page + 1)());
  await show(0);
  return h("div", {}, h("nav", { class: "pager" }, previous, label, following), errors);
}
