// The demandflow TypeScript SDK: an openapi-fetch client typed by `schema.d.ts` (generated from
// the OpenAPI document, never edited), plus the few functions a typed client does not give:
// problems as errors, waiting for a job, and a run's server-sent events as an async iterator.
import createFetchClient, { type Client } from "openapi-fetch";
import type { components, paths, sseEvents } from "./schema.js";

export type { components, operations, paths, sseEvents } from "./schema.js";

type Schemas = components["schemas"];
/** An error answer (`application/problem+json`). */
export type Problem = Schemas["Problem"];
/** One invalid field of a validation problem. */
export type ProblemField = Schemas["ProblemField"];
export type Job = Schemas["Job"];
export type JobState = Schemas["JobState"];
export type Run = Schemas["Run"];
/** One event of `GET /runs/{id}/events`, as the document's `x-sse-data` names it. */
export type RunEvent = sseEvents["/runs/{id}/events"];

/** A client of one demandflow api, acting with one API key. */
export type DemandflowClient = Client<paths>;

export interface ClientOptions {
  /** The server (`http://127.0.0.1:8080`) or its API root (`…/api/v1`). */
  baseUrl: string;
  /** The API key, sent as `X-API-Key` on every request. */
  apiKey: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

/** The API root of `baseUrl`: `/api/v1` is added unless it is already there. */
function apiRoot(baseUrl: string): string {
  const root = baseUrl.replace(/\/+$/, "");
  return root.endsWith("/api/v1") ? root : `${root}/api/v1`;
}

/** A typed client whose every request carries the key. */
export function createClient({ baseUrl, apiKey, fetch }: ClientOptions): DemandflowClient {
  const client = createFetchClient<paths>({
    baseUrl: apiRoot(baseUrl),
    ...(fetch ? { fetch } : {}),
  });
  client.use({
    onRequest({ request }) {
      request.headers.set("X-API-Key", apiKey);
      return request;
    },
  });
  return client;
}

/** A non-2xx answer, with the problem document the api sent. */
export class ProblemError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The kind of problem (`urn:demandflow:problem:<slug>`). */
  readonly type: string;
  readonly title: string;
  readonly detail: string;
  /** Every invalid field of a validation problem (empty otherwise). */
  readonly errors: ProblemField[];
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.title}: ${problem.detail}`);
    this.name = "ProblemError";
    this.problem = problem;
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
  }
}

function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.status === "number" && typeof b.title === "string";
}

/** The problem of an error answer: its body when it is one, else one made from the status. */
function problemOf(body: unknown, response: Response): Problem {
  if (isProblem(body)) {
    return { ...body, type: body.type ?? "about:blank", detail: body.detail ?? "" };
  }
  return {
    type: "about:blank",
    status: response.status,
    title: response.statusText || `HTTP ${response.status}`,
    detail: typeof body === "string" ? body : "",
  };
}

/** What an openapi-fetch call resolves to. */
export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a 2xx answer; a {@link ProblemError} for any other.
 *
 *     const job = await unwrap(client.GET("/jobs/{id}", { params: { path: { id } } }));
 */
export async function unwrap<T>(result: FetchResult<T> | Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await result;
  if (!response.ok) throw new ProblemError(problemOf(error, response));
  return data as T;
}

/** Job states a job does not leave by itself. */
export const FINAL_JOB_STATES: readonly JobState[] = ["succeeded", "dead", "cancelled"];

export interface WaitOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Time between looks (default 250 ms). */
  intervalMs?: number;
}

/** Polls `GET /jobs/{id}` until the job is succeeded, dead or cancelled, and returns it. */
export async function waitForJob(
  client: DemandflowClient,
  id: string,
  { timeoutMs = 60_000, intervalMs = 250 }: WaitOptions = {},
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await unwrap(client.GET("/jobs/{id}", { params: { path: { id } } }));
    if (FINAL_JOB_STATES.includes(job.state)) return job;
    if (Date.now() >= deadline) {
      throw new Error(`job ${id} is still ${job.state} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RunEventsOptions {
  /** Only events after this id (sent as `Last-Event-ID`). */
  after?: number;
  /** Stops the stream. */
  signal?: AbortSignal;
}

/**
 * The events of a run, oldest first, as they happen (`GET /runs/{id}/events`); the iteration
 * ends when the stream does: once the run has finished and every event was sent (or at the
 * server's stream lifetime: resume with `after` set to the last event's id).
 */
export async function* runEvents(
  clientOrOptions: DemandflowClient | ClientOptions,
  runId: string,
  { after, signal }: RunEventsOptions = {},
): AsyncGenerator<RunEvent, void, undefined> {
  const client = "GET" in clientOrOptions ? clientOrOptions : createClient(clientOrOptions);
  const { data, error, response } = await client.GET("/runs/{id}/events", {
    params: {
      path: { id: runId },
      header: after === undefined ? {} : { "Last-Event-ID": String(after) },
    },
    parseAs: "stream",
    ...(signal ? { signal } : {}),
  });
  if (!response.ok) throw new ProblemError(problemOf(error, response));
  // 204: the run finished and nothing is left.
  if (response.status === 204 || !data) return;
  for await (const message of sseMessages(data)) {
    if (message.data !== undefined) yield JSON.parse(message.data) as RunEvent;
  }
}

/** One server-sent event: its fields (`data` lines joined with newlines). */
interface SseMessage {
  event?: string;
  id?: string;
  data?: string;
}

/** Reads a `text/event-stream` body: one message per blank-line-separated block. */
async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let carry = ""; // a CR at the end of a chunk may be the first half of a CRLF
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let text = carry + decoder.decode(value, { stream: true });
      carry = text.endsWith("\r") ? "\r" : "";
      if (carry) text = text.slice(0, -1);
      buffer += text.replace(/\r\n?/g, "\n");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = parseBlock(block);
        if (message) yield message;
      }
    }
    // A last block without its blank line is incomplete: dropped, as EventSource does.
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}

function parseBlock(block: string): SseMessage | undefined {
  const message: SseMessage = {};
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue; // comments: keep-alives
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") message.event = value;
    else if (field === "id") message.id = value;
  }
  if (data.length > 0) message.data = data.join("\n");
  return data.length > 0 || message.event !== undefined ? message : undefined;
}
