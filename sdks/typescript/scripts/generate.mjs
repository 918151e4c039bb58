// Generates the API's types from the committed OpenAPI document with openapi-typescript:
//   node scripts/generate.mjs [OUT]    (OUT defaults to src/schema.d.ts; `npm run generate`)
// The drift check (`scripts/sdks --check` at the repository root) writes to a temporary OUT and
// compares it with the committed file.
//
// openapi-typescript types a `text/event-stream` answer as a plain string; the document names
// the schema of each event's `data` in the `x-sse-data` extension, which is emitted here as the
// `sseEvents` interface (path -> event type), so the SDK's event iterator is typed from the
// document too.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const doc = new URL("../../../openapi/openapi.json", import.meta.url);
const out = process.argv[2] ?? fileURLToPath(new URL("../src/schema.d.ts", import.meta.url));

const header = `// GENERATED FILE: do not edit. Made by openapi-typescript from openapi/openapi.json with
// \`npm run generate\` in sdks/typescript (or \`scripts/sdks\` at the repository root).
`;

function sseEvents(document) {
  const lines = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const get = item.get;
    for (const response of Object.values(get?.responses ?? {})) {
      const data = response.content?.["text/event-stream"]?.schema?.["x-sse-data"];
      if (!data) continue;
      const ref = /^#\/components\/schemas\/([^/]+)$/.exec(data.$ref ?? "");
      if (!ref) throw new Error(`${path}: x-sse-data must be a $ref to a component schema`);
      lines.push(`    ${JSON.stringify(path)}: components["schemas"][${JSON.stringify(ref[1])}];`);
    }
  }
  return `/** Server-sent event streams (GET): the type of each event's \`data\` (the \`x-sse-data\` extension). */
export interface sseEvents {
${lines.join("\n")}
}
`;
}

const ast = await openapiTS(doc);
const document = JSON.parse(readFileSync(doc, "utf8"));
writeFileSync(out, header + "\n" + astToString(ast) + "\n" + sseEvents(document));
