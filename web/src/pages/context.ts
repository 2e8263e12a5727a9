// ParseContextURL: what a runner makes of a repository, branch, commit, pull request or issue URL.

import { toJsonString } from "@bufbuild/protobuf";
import { field, h } from "../dom";
import { ParseContextURLResponseSchema, type ParseContextURLResponse } from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pickableRunners, runnerSelect } from "./common";

export async function contextPage(ctx: Ctx): Promise<Node> {
  const runners = await pickableRunners(ctx.api);
  const head = h("h1", {}, "Parse a context URL");
  if (runners.length === 0) return h("section", {}, head, h("p", {}, "Create a runner first."));
  const runner = runnerSelect(runners, ctx.params.get("runner"));
  const url = h("input", { name: "contextUrl", type: "url", placeholder: "https://github.com/owner/repo/pull/1", size: 60 });
  const errors = h("div", {});
  const result = h("div", { class: "context-result" });
  const form = h(
    "form",
    { class: "card", novalidate: true },
    errors,
    field("Runner", runner, undefined, "runnerId"),
    field("Context URL", url, "The runner's SCM integration for the host, and your host token, are needed.", "contextUrl"),
    h("button", { type: "submit" }, "Parse"),
  );
  onSubmit(form, errors, async () => {
    result.replaceChildren();
    const res = await ctx.api.runners.parseContextURL({ runnerId: runner.value, contextUrl: url.value.trim() });
    result.replaceChildren(parsed(res));
  });
  return h("section", { class: "narrow" }, head, form, result);
}

function parsed(res: ParseContextURLResponse): HTMLElement {
  const git = res.git;
  const pr = res.pullRequest;
  const rows: [string, string | undefined][] = [
    ["SCM", res.scmId],
    ["Host", git?.host],
    ["Owner", git?.owner],
    ["Repository", git?.repo],
    ["Branch", git?.branch],
    ["Tag", git?.tag],
    ["Commit", git?.commit],
    ["Clone URL", git?.cloneUrl],
    ["Pull request", pr && `${pr.title} (${pr.fromBranch} → ${pr.toBranch})`],
    ["Issue", res.issue && `${res.issue.id} ${res.issue.title}`],
  ];
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Result"),
    h("dl", { class: "details" }, rows.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v!)])),
    h("details", {}, h("summary", {}, "As JSON"), h("pre", {}, toJsonString(ParseContextURLResponseSchema, res, { prettySpaces: 2 }))),
  );
}
