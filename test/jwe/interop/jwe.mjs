// Drives the real @auth/core and jose for jeff's JWE interop tests.
//
// stdin: a JSON array of requests; stdout: a JSON array of answers, in order.
// A request that fails answers {"error": "..."}; a broken installation (the
// packages missing) makes the process exit non-zero, which fails the tests.
//
// Install: npm ci --prefix test/jwe/interop

import { readFileSync } from "node:fs";
import { decode, encode, getToken } from "@auth/core/jwt";
import { CompactEncrypt, compactDecrypt } from "jose";
import { hkdf } from "@panva/hkdf";
import { calculateJwkThumbprint, base64url } from "jose";

// Auth.js's cookie chunking is internal (not in the package's exports map):
// load the module by path to run the real code rather than a copy of it.
const { SessionStore } = await import(
  new URL("./node_modules/@auth/core/lib/utils/cookie.js", import.meta.url)
);

const quiet = { debug() {}, warn() {}, error() {} };
const hex = (s) => Buffer.from(s, "hex");
const text = (bytes) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);

function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}

const ops = {
  versions: async () => ({
    node: process.versions.node,
    "@auth/core": packageVersion("@auth/core"),
    jose: packageVersion("jose"),
  }),

  // The key and kid Auth.js derives (same calls as @auth/core's jwt.ts).
  derive: async ({ secret, salt, enc }) => {
    const length = enc === "A256GCM" ? 32 : 64;
    const key = await hkdf("sha256", secret, salt, `Auth.js Generated Encryption Key (${salt})`, length);
    const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, `sha${length << 3}`);
    return { key: Buffer.from(key).toString("hex"), kid };
  },

  encode: async ({ secret, salt, token, maxAge }) => ({ token: await encode({ secret, salt, token, maxAge }) }),

  decode: async ({ secret, salt, token }) => ({ payload: await decode({ secret, salt, token }) }),

  // Auth.js's own reading of a request: chunked cookies, then Bearer.
  getToken: async ({ secret, salt, cookieName, cookie, authorization }) => {
    const headers = {};
    if (cookie) headers.cookie = cookie;
    if (authorization) headers.authorization = authorization;
    const payload = await getToken({ req: { headers }, secret, salt, cookieName, logger: quiet });
    return { payload };
  },

  // The Set-Cookie name/value pairs Auth.js writes for a token.
  chunk: async ({ name, value }) => {
    const store = new SessionStore({ name, options: {} }, {}, quiet);
    return { cookies: store.chunk(value, {}).map(({ name, value }) => ({ name, value })) };
  },

  joseDecrypt: async ({ key, token }) => {
    const { plaintext, protectedHeader } = await compactDecrypt(token, hex(key), {
      contentEncryptionAlgorithms: ["A256CBC-HS512", "A256GCM"],
      keyManagementAlgorithms: ["dir"],
    });
    return { plaintext: text(plaintext), header: protectedHeader };
  },

  joseEncrypt: async ({ key, header, plaintext }) => ({
    token: await new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(header).encrypt(hex(key)),
  }),

  // Mean time of @auth/core decode on `token`, for the speed comparison.
  benchDecode: async ({ secret, salt, token, iterations }) => {
    for (let i = 0; i < Math.min(200, iterations); i++) await decode({ secret, salt, token });
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await decode({ secret, salt, token });
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    return { ns_per_decode: ns };
  },
};

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const requests = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const answers = [];
for (const request of requests) {
  const op = ops[request.op];
  if (!op) throw new Error(`unknown op ${request.op}`);
  try {
    answers.push(await op(request));
  } catch (error) {
    answers.push({ error: `${error.name}: ${error.message}` });
  }
}
process.stdout.write(JSON.stringify(answers));
