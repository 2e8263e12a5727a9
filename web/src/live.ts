// Keeping a page current: EventService.WatchEvents over the console's transport (gRPC-web or
// Connect server streaming, both over fetch, framed by @connectrpc/connect-web), watched again
// with backoff when the stream ends, and a re-list after every (re)start, since events may have
// been missed meanwhile. No polling: between events the page makes no calls.

import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Api } from "./api";
import { h } from "./dom";
import {
  ResourceOperation,
  ResourceType,
  type WatchEventsRequest_ResourceTypeFilterSchema,
  type WatchEventsResponse,
} from "./gen/gitpod/v1/event_pb";

export { ResourceOperation, ResourceType };

export type EventFilter = MessageInitShape<typeof WatchEventsRequest_ResourceTypeFilterSchema>;

/** How the watch of a page is doing, shown in its indicator (`data-live`). */
export type LiveState = "connecting" | "live" | "reconnecting" | "off";

const LABELS: Record<LiveState, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  off: "Not live",
};

/** The first wait before watching again after a failure, and the longest. */
export const BACKOFF_FIRST_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;

/**
 * Codes after which watching again cannot help (the token, the request or the server refuses
 * the watch itself): the page stays as it is, marked "Not live", until it is loaded again.
 */
const FINAL = new Set([Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.Unimplemented, Code.FailedPrecondition]);

export interface LiveOptions {
  /** `resourceTypeFilters` of the request: only these events (all the caller may see if empty). */
  filters: EventFilter[];
  /** One event, in the order the server sent them. */
  onEvent(event: WatchEventsResponse): void;
  /**
   * Reads again what the page shows: called each time a watch has started (its response
   * headers arrived, so the server has subscribed it), because writes may have committed while
   * no stream was open, including between the page's first read and its first watch.
   */
  resync(): Promise<void>;
  /** Ends the watch (the page was left). */
  signal: AbortSignal;
}

/**
 * Watches until `signal` aborts; returns the indicator element that shows the state. Failures
 * of `resync` count as failures of the watch (retried with the same backoff).
 */
export function live(api: Api, options: LiveOptions): HTMLElement {
  const indicator = h("span", { class: "live", role: "status", "aria-live": "polite" });
  const show = (state: LiveState, why = "") => {
    indicator.dataset.live = state;
    indicator.textContent = LABELS[state];
    indicator.title = why || (state === "live" ? "Changes made elsewhere appear here as they happen." : "");
  };
  show("connecting");
  void run(api, options, show);
  return indicator;
}

async function run(api: Api, options: LiveOptions, show: (state: LiveState, why?: string) => void): Promise<void> {
  const page = options.signal;
  let failures = 0;
  while (!page.aborted) {
    // This attempt's own signal: the page leaving ends it, and so does a failed re-list.
    const attempt = new AbortController();
    const leave = () => attempt.abort();
    page.addEventListener("abort", leave);
    let startedAt = 0;
    let resyncError: unknown = null;
    try {
      const stream = api.events.watchEvents(
        { scope: { case: "organization", value: true }, resourceTypeFilters: options.filters },
        {
          signal: attempt.signal,
          // The server sends its headers once the watcher is subscribed: re-list then.
          onHeader: () => {
            startedAt = Date.now();
            options.resync().then(
              () => {
                if (attempt.signal.aborted) return;
                failures = 0;
                show("live");
              },
              (e: unknown) => {
                resyncError = e;
                attempt.abort();
              },
            );
          },
        },
      );
      for await (const event of stream) options.onEvent(event);
      if (page.aborted) return;
      // A clean end: the server's maximum stream age, or its shutdown. Watch again at once,
      // unless streams end as soon as they start (then back off as after a failure).
      show("reconnecting", "the stream ended; watching again");
      if (!startedAt || Date.now() - startedAt < 5_000) failures += 1;
    } catch (e) {
      if (page.aborted) return;
      const error = ConnectError.from(resyncError ?? e);
      if (FINAL.has(error.code)) {
        show("off", `${Code[error.code]}: ${error.rawMessage}`);
        return;
      }
      // resource_exhausted (this watcher fell behind), unavailable, network errors, …
      failures += 1;
      show("reconnecting", `${Code[error.code]}: ${error.rawMessage}`);
    } finally {
      page.removeEventListener("abort", leave);
    }
    if (failures > 0) await sleep(backoff(failures), page);
  }
}

/** The wait before the `n`th attempt in a row (n ≥ 1): doubling from 1 s to 30 s, with jitter. */
export function backoff(n: number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(n - 1, 10));
  return base / 2 + Math.random() * (base / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}

/**
 * Runs `task` once for a burst of calls: a call while it runs schedules one more run after it,
 * so that the last call is always followed by a complete run. Failures go to `failed`.
 */
export function coalesce(task: () => Promise<void>, failed: (e: unknown) => void): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const start = (): Promise<void> => {
    running = task()
      .catch(failed)
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          void start();
        }
      });
    return running;
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    return start();
  };
}
