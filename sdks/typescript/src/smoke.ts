// The SDK's smoke test, against a live api and worker:
//   DF_BASE=http://127.0.0.1:8080 DF_KEY=<an operator or admin key> npm run smoke
// Prints one line per check (`ok <check>: …` or `FAIL <check>: …`) and exits non-zero on any
// failure. tests/e2e/sdks.rs runs it against freshly spawned binaries.
import {
  createClient,
  ProblemError,
  type RunEvent,
  runEvents,
  unwrap,
  waitForJob,
} from "./index.js";

const base = process.env.DF_BASE;
const key = process.env.DF_KEY;
if (!base || !key) {
  console.error("smoke: set DF_BASE (http://host:port) and DF_KEY (an API key)");
  process.exit(2);
}

const client = createClient({ baseUrl: base, apiKey: key });
let failed = 0;

async function check(name: string, body: () => Promise<string>): Promise<void> {
  try {
    console.log(`ok ${name}: ${await body()}`);
  } catch (e) {
    failed += 1;
    const why = e instanceof Error ? e.message : String(e);
    console.log(`FAIL ${name}: ${why}`);
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

await check("job", async () => {
  const job = await unwrap(client.POST("/jobs", { body: { kind: "noop", args: { sleep_ms: 10 } } }));
  const done = await waitForJob(client, job.id, { timeoutMs: 30_000, intervalMs: 100 });
  assert(done.state === "succeeded", `job ${job.id} ended ${done.state}`);
  return `noop job ${job.id} succeeded`;
});

await check("pages", async () => {
  const wanted = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const job = await unwrap(client.POST("/jobs", { body: { kind: "noop", args: {} } }));
    wanted.add(job.id);
  }
  const seen = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await unwrap(
      client.GET("/jobs", { params: { query: { limit: 2, ...(cursor ? { cursor } : {}) } } }),
    );
    pages += 1;
    assert(page.items.length <= 2, `page ${pages} has ${page.items.length} jobs`);
    for (const job of page.items) {
      assert(!seen.has(job.id), `job ${job.id} came twice`);
      seen.add(job.id);
    }
    cursor = page.next_cursor ?? undefined;
    assert(pages <= 100, "more than 100 pages");
  } while (cursor);
  const missing = [...wanted].filter((id) => !seen.has(id));
  assert(missing.length === 0, `never saw ${missing.join(", ")}`);
  return `saw all 5 new jobs among ${seen.size} in ${pages} pages of 2`;
});

await check("run events", async () => {
  const workflow = await unwrap(
    client.POST("/workflows", {
      body: {
        name: `sdk-smoke-${Date.now()}`,
        definition: {
          steps: [
            { name: "first", kind: "noop", args: { output: { n: 1 } } },
            {
              name: "second",
              kind: "noop",
              after: ["first"],
              args: { output: { from_first: "{{ steps.first.output.n }}" } },
            },
          ],
        },
      },
    }),
  );
  const run = await unwrap(
    client.POST("/workflows/{id}/runs", {
      params: { path: { id: workflow.id } },
      body: { input: {} },
    }),
  );
  const events: RunEvent[] = [];
  for await (const event of runEvents(client, run.id, { signal: AbortSignal.timeout(60_000) })) {
    events.push(event);
  }
  const types = events.map((e) => (e.step ? `${e.type}(${e.step})` : e.type));
  const last = events.at(-1);
  assert(last?.type === "run_finished", `the stream ended after ${types.join(", ")}`);
  const status = (last.data as { status?: unknown } | null)?.status;
  assert(status === "succeeded", `run ${run.id} finished ${String(status)}: ${JSON.stringify(last.data)}`);
  const succeeded = events.filter((e) => e.type === "step_succeeded").map((e) => e.step);
  assert(
    succeeded.includes("first") && succeeded.includes("second"),
    `steps succeeded: ${succeeded.join(", ")}`,
  );
  const final = await unwrap(client.GET("/runs/{id}", { params: { path: { id: run.id } } }));
  assert(final.status === "succeeded", `GET /runs/${run.id} says ${final.status}`);
  return `run ${run.id} succeeded; events ${types.join(", ")}`;
});

await check("problem", async () => {
  try {
    // 600001 ms is over the noop kind's limit: a validation problem naming the field.
    await unwrap(client.POST("/jobs", { body: { kind: "noop", args: { sleep_ms: 600_001 } } }));
  } catch (e) {
    assert(e instanceof ProblemError, `not a ProblemError: ${String(e)}`);
    assert(e.status === 422, `status ${e.status}: ${e.message}`);
    assert(e.errors.length > 0, `no errors in ${JSON.stringify(e.problem)}`);
    const paths = e.errors.map((f) => f.path);
    assert(paths.includes("args.sleep_ms"), `errors at ${paths.join(", ")}`);
    return `422 ${e.title}, errors at ${paths.join(", ")}`;
  }
  throw new Error("the bad job was accepted");
});

console.log(failed === 0 ? "smoke: every check passed" : `smoke: ${failed} check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
