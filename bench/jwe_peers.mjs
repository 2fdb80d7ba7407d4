// The node side of bench/run's JWE rows: the real @auth/core and jose, from
// the JWE interop tests' npm project (test/jwe/interop; `npm ci --prefix
// test/jwe/interop` installs them), never a second one.
//
//   node jwe_peers.mjs make-authjs TOKENS_JSON
//       prints an @auth/core `encode` token of the claim set in TOKENS_JSON
//       (written by `jeff-bench --jeff_tokens`)
//   node jwe_peers.mjs bench TOKENS_JSON AUTHJS_TOKEN_FILE SECONDS
//       prints one JSON object of decodes per second (see rate()): @auth/core
//       `decode` of the Auth.js token, jose `compactDecrypt` of jeff's A256GCM
//       token and of the Auth.js token

import { createRequire } from "node:module";
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const interop = process.env.JEFF_JWE_INTEROP_DIR ??
  join(dirname(fileURLToPath(import.meta.url)), "..", "test", "jwe", "interop");
const require = createRequire(join(interop, "package.json"));
const load = (name) => import(pathToFileURL(require.resolve(name)).href);
const { encode, decode } = await load("@auth/core/jwt");
const { compactDecrypt } = await load("jose");

const [mode, tokensPath, authjsPath, secondsText] = process.argv.slice(2);
const tokens = JSON.parse(readFileSync(tokensPath, "utf8"));
const { secret, salt } = tokens;

// The key @auth/core derives for `enc` (its derivation is not exported).
function authJsKey(bytes) {
  const info = `Auth.js Generated Encryption Key (${salt})`;
  return new Uint8Array(hkdfSync("sha256", secret, salt, info, bytes));
}

// Calls `fn` for about `seconds` after a short warm-up. Returns calls per
// second of wall time and per second of the process's CPU time (all its
// threads: WebCrypto works in libuv's pool). The higher of the two is the
// figure compared with jeff: on a quiet machine that is what node can do,
// and on a busy one wall time also counts waiting for a core.
async function rate(fn, seconds) {
  const warmUntil = performance.now() + Math.min(500, seconds * 200);
  while (performance.now() < warmUntil) await fn();
  let calls = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 16; ++i) await fn();
    calls += 16;
  }
  const wall = calls / ((performance.now() - start) / 1000);
  const used = process.cpuUsage(cpuStart);
  const cpu = calls / ((used.user + used.system) / 1e6);
  return { best: Math.max(wall, cpu), wall, cpu };
}

if (mode === "make-authjs") {
  const token = await encode({ token: tokens.claims, secret, salt, maxAge: 30 * 24 * 3600 });
  process.stdout.write(token + "\n");
} else if (mode === "bench") {
  const authjs = readFileSync(authjsPath, "utf8").trim();
  const seconds = Number(secondsText ?? "2");
  const cbcKey = authJsKey(64);
  const gcmKey = authJsKey(32);
  if ((await decode({ token: authjs, secret, salt }))?.sub !== tokens.claims.sub) {
    throw new Error("@auth/core did not decode its own token");
  }
  await compactDecrypt(tokens.gcm, gcmKey);  // throws unless jeff's token is valid for jose
  const out = { node: process.version };
  const rows = {
    authjs_decode: () => decode({ token: authjs, secret, salt }),
    jose_gcm_decode: () => compactDecrypt(tokens.gcm, gcmKey),
    jose_cbc_decode: () => compactDecrypt(authjs, cbcKey),
  };
  for (const [name, fn] of Object.entries(rows)) {
    const r = await rate(fn, seconds);
    out[`${name}_per_s`] = r.best;
    out[`${name}_wall_per_s`] = r.wall;
    out[`${name}_cpu_per_s`] = r.cpu;
  }
  process.stdout.write(JSON.stringify(out) + "\n");
} else {
  process.stderr.write("usage: node jwe_peers.mjs make-authjs TOKENS_JSON | bench TOKENS_JSON AUTHJS_TOKEN SECONDS\n");
  process.exit(2);
}
