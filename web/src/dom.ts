// A small DOM helper and the few widgets every page shares.

import type { ApiProblem } from "./api";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** Creates an element: `on*` attributes are listeners, `false`/null ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "value") (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
  return el;
}

/** An API error as the user sees it: its code, its message, and each invalid field. */
export function errorBox(problem: ApiProblem): HTMLElement {
  return h(
    "div",
    { class: "error", role: "alert", "data-code": problem.code },
    h("strong", { class: "code" }, problem.code),
    " ",
    h("span", { class: "message" }, problem.message),
    problem.fields.length > 0 &&
      h(
        "ul",
        { class: "violations" },
        problem.fields.map((f) => h("li", {}, h("code", {}, f.field), ": ", f.description)),
      ),
  );
}

export function notice(text: string): HTMLElement {
  return h("div", { class: "notice", role: "status" }, text);
}

/**
 * A labelled form row; `hint` goes under the control, and a `required` control's label ends in
 * `*`. `path` is the request field it sets (`displayName`, `configuration.diskSizeGb`): the
 * server's complaints about it are shown here.
 */
export function field(label: string, control: HTMLElement, hint?: string | Node | false, path?: string): HTMLElement {
  // A required control is marked `*`; submitting its form empty is refused (pages/common.ts).
  const required = control.hasAttribute("required") && !label.endsWith(" *");
  return h(
    "label",
    { class: "field", "data-field": path },
    h("span", { class: "label" }, required ? `${label} *` : label),
    control,
    hint && h("small", {}, hint),
  );
}

/** A modal question with Cancel and a confirming button; resolves to the choice. */
export function confirmDialog(question: string, confirmLabel: string, extra?: HTMLElement): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm" },
      h(
        "form",
        { method: "dialog" },
        h("p", {}, question),
        extra,
        h(
          "div",
          { class: "actions" },
          h("button", { value: "cancel", class: "secondary" }, "Cancel"),
          h("button", { value: "confirm", class: "danger" }, confirmLabel),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A one-time secret (or a command holding one) with a copy button named `label`. */
export function secretBox(id: string, value: string, label = "Copy"): HTMLElement {
  const copy = h("button", { type: "button", class: "secondary", "data-copy": id }, label);
  copy.addEventListener("click", async () => {
    copy.textContent = (await copyText(value)) ? "Copied" : "Select and copy by hand";
  });
  return h("div", { class: "secret" }, h("code", { id }, value), copy);
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on another host): the older way.
    const area = h("textarea", { readonly: true }, text);
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export function formatTime(date: Date | undefined): string {
  return date ? date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "—";
}
