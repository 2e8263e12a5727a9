// Pieces several pages share: runner pickers, form submission with errors (and required fields),
// paging, tables that fit narrow windows.

import type { Api } from "../api";
import { problemOf } from "../api";
import { confirmDialog, errorBox, h } from "../dom";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";

/**
 * At most this many runners are read for the runners list and the pickers, in pages of 100 (the
 * largest): ListRunners has no sort order but creation and no search, so the console sorts and
 * searches what it read (docs/decisions.md).
 */
export const MAX_RUNNERS = 10_000;

/** Every runner the caller can see, oldest first, up to [MAX_RUNNERS]; `cut` when there are more. */
export async function allRunners(api: Api): Promise<{ runners: Runner[]; cut: boolean }> {
  const runners: Runner[] = [];
  let token = "";
  do {
    const res = await api.runners.listRunners({ pagination: { pageSize: 100, token } });
    runners.push(...res.runners);
    token = res.pagination?.nextToken ?? "";
  } while (token && runners.length < MAX_RUNNERS);
  return { runners, cut: token !== "" };
}

/** The runners a picker offers: all of them, by name. */
export async function pickableRunners(api: Api): Promise<Runner[]> {
  const { runners } = await allRunners(api);
  return runners.sort((a, b) => a.name.localeCompare(b.name) || a.runnerId.localeCompare(b.runnerId));
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

/**
 * A button that removes something of a list after asking `question` (confirming with `label`),
 * and then shows the list again; a failure goes to `errors`.
 */
export function removeButton(
  ctx: Ctx,
  errors: HTMLElement,
  question: string,
  remove: () => Promise<unknown>,
  label = "Delete",
): HTMLButtonElement {
  const button = h("button", { type: "button", class: "danger" }, label);
  button.addEventListener("click", async () => {
    if (!(await confirmDialog(question, label))) return;
    try {
      await remove();
      ctx.go(location.hash);
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    }
  });
  return button;
}

export function runnerNames(runners: Runner[]): (id: string) => string {
  const names = new Map(runners.map((r) => [r.runnerId, runnerLabel(r, runners)]));
  return (id) => names.get(id) ?? id;
}

/**
 * The required fields of `form` (marked `*`) left empty, each marked "is required"; none when
 * every one is filled.
 */
function emptyRequired(form: HTMLElement): string[] {
  const empty: string[] = [];
  for (const control of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("input[required], select[required]")) {
    if (control.value.trim() !== "") continue;
    const row = control.closest(".field");
    row?.append(h("small", { class: "field-error" }, "is required"));
    empty.push(row?.querySelector(".label")?.textContent?.replace(/ \*$/, "") ?? control.name);
  }
  return empty;
}

/**
 * Runs a form's action with its button disabled. Required fields left empty are marked and the
 * action is not run. A failure is shown in `slot` with its code and message, and each field the
 * server names is marked in `form` (by `data-field`). A "Saved." notice of an earlier action on
 * the page goes away when another one starts.
 */
export async function attempt(
  slot: HTMLElement,
  form: HTMLElement,
  action: () => Promise<void>,
): Promise<boolean> {
  const buttons = [...form.querySelectorAll("button")];
  slot.replaceChildren();
  form.querySelectorAll(".field-error").forEach((e) => e.remove());
  (form.closest("section") ?? document).querySelectorAll(".notice").forEach((n) => n.remove());
  const empty = emptyRequired(form);
  if (empty.length > 0) {
    slot.replaceChildren(
      h("div", { class: "error", role: "alert", "data-code": "required" }, `Fill in the fields marked *: ${empty.join(", ")}.`),
    );
    return false;
  }
  buttons.forEach((b) => (b.disabled = true));
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
  return h("div", {}, tableWrap(h("table", { class: className }, head, body)), paging);
}

/** A table that scrolls sideways inside its box when the window is too narrow for it. */
export function tableWrap(table: HTMLTableElement): HTMLElement {
  return h("div", { class: "table-wrap" }, table);
}

/** The pager's buttons and label, shared by [pager] and [localPager]. */
function pagerControls() {
  return {
    previous: h("button", { type: "button", class: "secondary", "data-page": "previous" }, "Previous"),
    following: h("button", { type: "button", class: "secondary", "data-page": "next" }, "Next"),
    label: h("span", { class: "page-number" }),
  };
}

/**
 * Paging over items the console holds: `show(first, last)` shows items first..last (exclusive).
 * `reset(count, size)` starts again at page 1 for `count` items in pages of `size`; `refresh(count)`
 * shows the same page again (the last one if it is gone) for `count` items, as after a live change.
 */
export function localPager(show: (first: number, last: number) => void): {
  element: HTMLElement;
  reset(count: number, size: number): void;
  refresh(count: number): void;
} {
  const { previous, following, label } = pagerControls();
  let page = 0;
  let count = 0;
  let size = 10;
  const render = () => {
    const pages = Math.max(1, Math.ceil(count / size));
    page = Math.min(page, pages - 1);
    show(page * size, Math.min(count, (page + 1) * size));
    label.textContent = `Page ${page + 1} of ${pages}`;
    previous.disabled = page === 0;
    following.disabled = page >= pages - 1;
  };
  previous.addEventListener("click", () => {
    page -= 1;
    render();
  });
  following.addEventListener("click", () => {
    page += 1;
    render();
  });
  return {
    element: h("nav", { class: "pager" }, previous, label, following),
    reset(n: number, pageSize: number) {
      [count, size, page] = [n, pageSize, 0];
      render();
    },
    refresh(n: number) {
      count = n;
      render();
    },
  };
}

/**
 * Forward paging over page tokens, keeping the tokens of earlier pages for "Previous".
 * `load(token)` shows one page and returns the next page's token ("" at the end). The first
 * page's failure is thrown (the page shows it); a later one's is shown by the pager.
 */
export async function pager(load: (token: string) => Promise<string>): Promise<HTMLElement> {
  const tokens = [""];
  let page = 0;
  const { previous, following, label } = pagerControls();
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
