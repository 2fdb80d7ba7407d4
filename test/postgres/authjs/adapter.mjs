// Drives the real @auth/pg-adapter (with pg) for jeff's tests:
//   node adapter.mjs <postgres url> <op> [args...]
// ops (one JSON line on stdout each):
//   versions                          -> {"node": ..., "@auth/pg-adapter": ..., "pg": ...}
//   user <email> <name>               -> the user createUser returned
//   session <userId> <token> <unixMs> -> the session createSession returned
//   get <token>                       -> what getSessionAndUser returned (null when none)
// Exits 1 with the error on stderr when anything fails.
import { readFileSync } from "node:fs";
import pg from "pg";
import PostgresAdapter from "@auth/pg-adapter";

const [url, op, ...args] = process.argv.slice(2);
const version = (name) =>
  JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;

const pool = new pg.Pool({ connectionString: url, max: 1 });
const adapter = PostgresAdapter(pool);
try {
  let out;
  switch (op) {
    case "versions":
      out = { node: process.versions.node, "@auth/pg-adapter": version("@auth/pg-adapter"), pg: version("pg") };
      break;
    case "user":
      out = await adapter.createUser({ email: args[0], name: args[1], emailVerified: null });
      break;
    case "session":
      out = await adapter.createSession({ userId: args[0], sessionToken: args[1], expires: new Date(Number(args[2])) });
      break;
    case "get":
      out = await adapter.getSessionAndUser(args[0]);
      break;
    default:
      throw new Error(`unknown op ${op}`);
  }
  process.stdout.write(JSON.stringify(out ?? null) + "\n");
} catch (e) {
  process.stderr.write(`adapter.mjs ${op}: ${e.stack ?? e}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
