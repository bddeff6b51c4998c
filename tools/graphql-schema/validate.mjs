// Checks GraphQL requests against GitHub's published schema with the reference
// validator (graphql-js): every document must validate, and its variables must fit the
// types it declares. Reads JSON request bodies ({"query", "variables"}), one a line, on
// standard input; prints each problem and exits 1 if there is any.
//
// @octokit/graphql-schema 15.26.1 defines two fields of EnterpriseOwnerInfo twice; the
// second definitions are dropped so a strict build of the schema succeeds.
import { readFileSync } from "node:fs";
import { buildASTSchema, getVariableValues, Kind, parse, validate } from "graphql";

// scripts/install-tools puts this script beside the node_modules it installs.
const sdl = readFileSync(new URL("./node_modules/@octokit/graphql-schema/schema.graphql", import.meta.url), "utf8");
const ast = parse(sdl);
const definitions = ast.definitions.map((def) => {
  if (!def.fields) return def;
  const seen = new Set();
  const fields = def.fields.filter((f) => !seen.has(f.name.value) && seen.add(f.name.value));
  return { ...def, fields };
});
const schema = buildASTSchema({ ...ast, definitions });

const input = readFileSync(0, "utf8").split("\n").filter((l) => l.trim() !== "");
let problems = 0;
input.forEach((line, i) => {
  const request = JSON.parse(line);
  let document;
  try {
    document = parse(request.query);
  } catch (e) {
    console.log(`request ${i + 1}: ${e.message}`);
    problems++;
    return;
  }
  for (const e of validate(schema, document)) {
    console.log(`request ${i + 1}: ${e.message}`);
    problems++;
  }
  for (const op of document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION)) {
    const { errors } = getVariableValues(schema, op.variableDefinitions ?? [], request.variables ?? {});
    for (const e of errors ?? []) {
      console.log(`request ${i + 1}: ${e.message}`);
      problems++;
    }
  }
});
console.log(`${input.length} request(s) checked against GitHub's GraphQL schema, ${problems} problem(s)`);
process.exit(problems === 0 ? 0 : 1);
