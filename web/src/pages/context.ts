// ParseContextURL: what a runner makes of a repository, branch, commit, pull request or issue URL,
// and, when the user must authenticate with the host first, the ways to do it.

import { toJsonString } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { field, h } from "../dom";
import {
  ParseContextURLPreconditionFailureDetailsSchema,
  ParseContextURLResponseSchema,
  type ParseContextURLResponse,
} from "../gen/gitpod/v1/runner_pb";
import type { Ctx } from "../main";
import { onSubmit, pickableRunners, runnerSelect } from "./common";
import { tokensHref } from "./tokens";

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
    try {
      const res = await ctx.api.runners.parseContextURL({ runnerId: runner.value, contextUrl: url.value.trim() });
      result.replaceChildren(parsed(res));
    } catch (e) {
      const steps = await nextSteps(ctx, runner.value, url.value.trim(), e);
      if (steps) result.replaceChildren(steps);
      throw e;
    }
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

/** The host of a context URL (`https://HOST/…`, `ssh://git@HOST/…`), if it has one. */
function hostOf(url: string): string | null {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

/**
 * When ParseContextURL says the user must authenticate with the host first: a personal access
 * token (the host tokens page, for this runner and host) or OAuth, as CheckAuthenticationForHost
 * offers them. `null` for other failures.
 */
async function nextSteps(ctx: Ctx, runnerId: string, url: string, error: unknown): Promise<HTMLElement | null> {
  const details = ConnectError.from(error).findDetails(ParseContextURLPreconditionFailureDetailsSchema)[0];
  if (!details) return null;
  const host = hostOf(url);
  const steps: (HTMLElement | string)[] = [];
  let scm = host ?? "the host";
  if (host) {
    try {
      const auth = await ctx.api.runners.checkAuthenticationForHost({ runnerId, host });
      scm = auth.scmName || host;
      if (auth.supportsPat) {
        steps.push(h("li", {}, h("a", { href: tokensHref(runnerId, host), class: "pat-step" }, "Add a personal access token"), ` for ${host}.`));
      }
      if (auth.supportsOauth2) {
        steps.push(
          h("li", {}, h("a", { href: auth.supportsOauth2.authUrl, target: "_blank", rel: "noreferrer", class: "oauth-step" }, `Authorize with ${scm}`), " (OAuth): the runner stores the token for you."),
        );
      }
    } catch {
      // The steps below still help.
    }
  }
  if (steps.length === 0 && details.authenticationRequiredUrl) {
    steps.push(h("li", {}, h("a", { href: details.authenticationRequiredUrl, target: "_blank", rel: "noreferrer" }, `Authenticate with ${scm}`)));
  }
  steps.push(h("li", {}, "Then parse the URL again."));
  return h("div", { class: "card next-step" }, h("h2", {}, "Next step: authenticate"), h("ol", {}, steps));
}
