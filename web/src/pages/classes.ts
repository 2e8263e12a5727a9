// Environment classes: the list (all runners or one), enabling and disabling, and creating one
// with a form built from the runner's GetRunnerConfigurationSchema.

import { problemOf, type Api } from "../api";
import { errorBox, field, h } from "../dom";
import type { EnvironmentClass, RunnerConfigurationSchema_Field } from "../gen/gitpod/v1/runner_configuration_pb";
import type { Runner } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pagedTable, pickableRunners, runnerFilter, runnerNames, runnerSelect } from "./common";

export async function classesPage(ctx: Ctx): Promise<Node> {
  const runners = await pickableRunners(ctx.api);
  const name = runnerNames(runners);
  const selected = ctx.params.get("runner");

  const filter = runnerFilter(ctx, runners, "#/classes");
  const listErrors = h("div", {});
  const columns = ["Name", "Description", "Runner", "Configuration", "Status", ""];
  const table = await pagedTable("classes", columns, "No environment classes.", async (token) => {
    const res = await ctx.api.config.listEnvironmentClasses({
      pagination: { pageSize: 25, token },
      filter: { runnerIds: selected ? [selected] : [] },
    });
    return {
      rows: res.environmentClasses.map((c) => classRow(ctx.api, c, name(c.runnerId), listErrors)),
      next: res.pagination?.nextToken,
    };
  });

  return h(
    "section",
    {},
    h("div", { class: "page-head" }, h("h1", {}, "Environment classes"), field("Runner", filter)),
    listErrors,
    table,
    runners.length > 0 ? await createClassForm(ctx, runners, selected) : h("p", {}, "Create a runner first."),
  );
}

function classRow(api: Api, c: EnvironmentClass, runnerName: string, errors: HTMLElement): HTMLElement {
  const status = h("td", {});
  const toggle = h("button", { type: "button", class: "secondary" });
  const show = (enabled: boolean) => {
    c.enabled = enabled;
    status.replaceChildren(h("span", { class: `badge ${enabled ? "enabled" : "disabled"}` }, enabled ? "Enabled" : "Disabled"));
    toggle.textContent = enabled ? "Disable" : "Enable";
  };
  show(c.enabled);
  toggle.addEventListener("click", async () => {
    errors.replaceChildren();
    toggle.disabled = true;
    try {
      await api.config.updateEnvironmentClass({ environmentClassId: c.id, enabled: !c.enabled });
      show(!c.enabled);
    } catch (e) {
      errors.replaceChildren(errorBox(problemOf(e)));
    } finally {
      toggle.disabled = false;
    }
  });
  return h(
    "tr",
    { "data-class-id": c.id },
    h("td", {}, c.displayName),
    h("td", {}, c.description),
    h("td", {}, runnerName),
    h("td", {}, c.configuration.map((kv) => h("code", { class: "kv" }, `${kv.key}=${kv.value}`))),
    status,
    h("td", {}, toggle),
  );
}

/** The form's creating part: fields for the chosen runner's schema, reloaded when it changes. */
async function createClassForm(ctx: Ctx, runners: Runner[], selected: string | null): Promise<HTMLElement> {
  const runner = runnerSelect(runners, selected ?? runners[0].runnerId);
  const displayName = h("input", { name: "displayName", required: true });
  const description = h("input", { name: "description", required: true });
  const schemaFields = h("div", { class: "schema-fields" });
  const errors = h("div", {});
  const form = h(
    "form",
    { class: "card create-class", novalidate: true },
    h("h2", {}, "New environment class"),
    errors,
    field("Runner", runner, undefined, "runnerId"),
    field("Name", displayName, "3 to 127 characters.", "displayName"),
    field("Description", description, "3 to 200 characters.", "description"),
    schemaFields,
    h("button", { type: "submit" }, "Create environment class"),
  );
  let inputs: [string, HTMLInputElement | HTMLSelectElement][] = [];
  const loadSchema = async () => {
    errors.replaceChildren();
    try {
      const { schema } = await ctx.api.config.getRunnerConfigurationSchema({ runnerId: runner.value });
      const rendered = (schema?.environmentClasses ?? []).map(schemaField);
      inputs = rendered.flatMap(([, input]) => (input ? [input] : []));
      schemaFields.replaceChildren(...rendered.map(([el]) => el));
    } catch (e) {
      schemaFields.replaceChildren();
      errors.replaceChildren(errorBox(problemOf(e)));
    }
  };
  runner.addEventListener("change", () => void loadSchema());
  await loadSchema();
  onSubmit(form, errors, async () => {
    await ctx.api.config.createEnvironmentClass({
      runnerId: runner.value,
      displayName: displayName.value.trim(),
      description: description.value.trim(),
      // Empty means not set: the schema's default applies.
      configuration: inputs.filter(([, i]) => i.value !== "").map(([key, i]) => ({ key, value: i.value })),
    });
    ctx.go(`#/classes?runner=${runner.value}`);
  });
  return form;
}

/**
 * One schema field as a form row, and its input (none for display fields). A required field is
 * marked `*` and cannot be left empty: it starts at its default, when it has one. An optional
 * field left empty is not sent, so its default applies.
 */
function schemaField(f: RunnerConfigurationSchema_Field): [HTMLElement, [string, HTMLInputElement | HTMLSelectElement] | null] {
  const row = (control: HTMLElement, hint: string) =>
    field(f.name, control, [f.description, hint].filter(Boolean).join(" "), `configuration.${f.id}`);
  const required = f.required || undefined;
  const t = f.type;
  switch (t.case) {
    case "display":
      return [h("p", { class: "hint", "data-display": f.id }, h("strong", {}, f.name), " ", t.value.default), null];
    case "enum": {
      const values = t.value.possibleValues;
      const preset = f.required ? (t.value.defaultValue?.title ?? "") : "";
      const input = h(
        "select",
        { name: f.id, required },
        h("option", { value: "" }, t.value.defaultValue?.title && !f.required ? `default (${t.value.defaultValue.title})` : "not set"),
        values.map((v) => h("option", { value: v.title, selected: v.title === preset }, v.subtitle ? `${v.title} — ${v.subtitle}` : v.title)),
      );
      return [row(input, ""), [f.id, input]];
    }
    case "bool": {
      // A default of false is no default (docs/configuration-schema.md): a required one is chosen.
      const preset = f.required && t.value.default ? "true" : "";
      const input = h(
        "select",
        { name: f.id, required },
        !(f.required && t.value.default) &&
          h("option", { value: "" }, f.required ? "choose" : `default (${t.value.default})`),
        ["true", "false"].map((v) => h("option", { value: v, selected: v === preset }, v)),
      );
      return [row(input, ""), [f.id, input]];
    }
    case "int": {
      const { min, max } = t.value;
      // The server checks the range: a value outside it comes back as invalid_argument.
      const preset = f.required && t.value.default ? String(t.value.default) : "";
      const input = h("input", {
        name: f.id,
        inputmode: "numeric",
        required,
        value: preset,
        placeholder: t.value.default && !f.required ? `default ${t.value.default}` : "",
      });
      return [row(input, min || max ? `${min}–${max}.` : ""), [f.id, input]];
    }
    case "string": {
      const preset = f.required ? t.value.default : "";
      const input = h("input", {
        name: f.id,
        required,
        value: preset,
        placeholder: t.value.default && !f.required ? `default ${t.value.default}` : "",
      });
      return [row(input, t.value.pattern ? `Pattern ${t.value.pattern}` : ""), [f.id, input]];
    }
    default:
      return [h("p", { class: "hint" }, `${f.name}: a field type this console does not know`), null];
  }
}
