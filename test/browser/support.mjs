// Shared by the browser tests: the example app as a child process on a free
// loopback port, Debian's Chromium driven by playwright-core, a cross-site
// "attacker" server, and small page helpers.
//
// Missing pieces fail the run (they never skip it): JEFF_EXAMPLE must name
// the jeff-example binary, Chromium must be at JEFF_CHROMIUM (default
// /usr/bin/chromium, Debian package `chromium`), and playwright-core must be
// installed (`npm ci --prefix test/browser`).

import { execFileSync, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import net from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import os from 'node:os';
import path from 'node:path';

export const EXAMPLE = process.env.JEFF_EXAMPLE;
// How the example serves HTTPS (startExample's `tls`): 'flags' (its own
// --tls-cert/--tls-key, the default) or 'proxy' (plain HTTP behind a
// TLS-terminating proxy in this process, for an example without TLS).
export const EXAMPLE_TLS = process.env.JEFF_EXAMPLE_TLS || 'flags';
export const CHROMIUM = process.env.JEFF_CHROMIUM || '/usr/bin/chromium';
// Where screenshots of the main pages go (meson: <build>/test/browser/screenshots).
export const SCREENSHOTS =
  process.env.JEFF_SCREENSHOTS || path.join(os.tmpdir(), 'jeff-browser-screenshots');

// The flags this machine needs (see the README's Tests section): without the
// background-networking ones Chromium keeps dialling Google's hosts, which a
// closed network refuses. --headless is also implied by `headless: true`.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const VIEWPORT = { width: 1000, height: 700 };

function requireExecutable(file, what, fix) {
  if (!file) throw new Error(`${what}: not set. ${fix}`);
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${what}: ${file} is not an executable file. ${fix}`);
  }
}

requireExecutable(EXAMPLE, 'JEFF_EXAMPLE (the jeff-example binary)',
  'Run through `meson test`, or set JEFF_EXAMPLE=<build>/example/jeff-example.');
requireExecutable(CHROMIUM, 'Chromium', 'Install it: apt-get install chromium.');

let playwright;
try {
  playwright = await import('playwright-core');
} catch (e) {
  throw new Error(`playwright-core is missing (${e.code || e.message}). ` +
                  'Install it: npm ci --prefix test/browser');
}
export const { chromium } = playwright;

/// A TCP port on 127.0.0.1 that was free a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/// A self-signed P-256 certificate for `host` made by openssl in a new
/// temporary folder: { host, cert, key (file names), spki (the base64 SHA-256
/// of its SubjectPublicKeyInfo, what --ignore-certificate-errors-spki-list
/// takes), remove() }.
export function makeCertificate(host) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jeff-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host}`,
    '-keyout', key, '-out', cert], { stdio: ['ignore', 'ignore', 'pipe'] });
  const spkiDer = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  return {
    host, cert, key,
    spki: createHash('sha256').update(spkiDer).digest('base64'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

// A TLS-terminating TCP proxy on a free loopback port with the certificate
// `tls`, forwarding each connection to 127.0.0.1:<target> (set later).
async function startTlsProxy(tls) {
  const sockets = new Set();
  const proxy = { port: 0, target: 0 };
  const server = createTlsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (client) => {
    const upstream = net.connect(proxy.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  proxy.stop = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}

/// jeff-example with `args` (an array, or a function of the port giving one)
/// on a free port; resolves once it accepts connections. `app.origin` is
/// http://127.0.0.1:<port>; `app.stop()` ends it.
/// With `tls` (a makeCertificate()) it is reached over HTTPS with that
/// certificate (as EXAMPLE_TLS says) and `app.origin` is
/// https://<tls.host>:<port> (also allowed to POST); the browser must map
/// tls.host to 127.0.0.1 (chromiumArgsForTls).
export async function startExample(args = [], { tls } = {}) {
  const proxy = tls && EXAMPLE_TLS === 'proxy' ? await startTlsProxy(tls) : null;
  try {
    const app = await startExampleOnce(args, tls, proxy);
    return { ...app, async stop() { await app.stop(); await proxy?.stop(); } };
  } catch (e) {
    await proxy?.stop();
    throw e;
  }
}

async function startExampleOnce(args, tls, proxy) {
  let lastError;
  for (let attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile
    const port = await freePort();
    const origin = !tls ? `http://127.0.0.1:${port}` : `https://${tls.host}:${proxy?.port ?? port}`;
    const tlsArgs = !tls ? [] : proxy ? ['--origin', origin]
      : ['--tls-cert', tls.cert, '--tls-key', tls.key, '--origin', origin];
    const child = spawn(EXAMPLE, ['--port', String(port), ...tlsArgs,
                                  ...(typeof args === 'function' ? args(port) : args)],
                        { stdio: ['ignore', 'inherit', 'pipe'] });
    children.add(child);
    let log = '';
    child.stderr.on('data', (d) => { log += d; process.stderr.write(d); });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal);
    }));
    const deadline = Date.now() + 15000;
    let status = 'timeout';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) { status = 'exited'; break; }
      if (await accepts(port)) { status = 'up'; break; }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (status === 'up') {
      if (proxy) proxy.target = port;
      return {
        port,
        origin,
        url: (p) => `${origin}${p}`,
        log: () => log,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    child.kill('SIGKILL');
    lastError = new Error(`jeff-example ${args.join(' ')} did not start (${status}): ${log}`);
    if (!/cannot listen/.test(log)) break;
  }
  throw lastError;
}

/// Another web site on another loopback port, reached as http://localhost:<port>
/// (another site than the app's 127.0.0.1) or http://127.0.0.1:<port> (same
/// site, other origin). GET /form?action=URL&k=v... serves a form that POSTs
/// the fields k=v... to URL when its button is clicked (no script: the same
/// request an auto-submitting form makes); GET /link?href=URL a plain link.
export async function startAttacker() {
  const escape = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://attacker');
    const param = (name) => escape(url.searchParams.get(name) || '');
    let body;
    if (url.pathname === '/link') {
      body = `<a href="${param('href')}">my account</a>`;
    } else {
      const fields = [...url.searchParams].filter(([k]) => k !== 'action')
        .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join('');
      body = `<form method="post" action="${param('action')}">` +
             `${fields}<button type="submit">Claim your prize</button></form>`;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Win a prize</title>${body}`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/// Headless Debian Chromium with `extraArgs` besides CHROMIUM_ARGS.
/// Playwright gives every launch a new, empty profile (--user-data-dir in a
/// fresh temporary folder, removed on close).
export function launchChromium(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true,
                           args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/// The flags that make Chromium trust `tls` (a makeCertificate()) for
/// https://<tls.host>, which it resolves to 127.0.0.1. --ignore-certificate-errors
/// alone is not enough for features that need a trusted connection (DBSC).
export function chromiumArgsForTls(tls) {
  return [`--ignore-certificate-errors-spki-list=${tls.spki}`,
          `--host-resolver-rules=MAP ${tls.host} 127.0.0.1`];
}

/// A browser context is one device: its own cookie jar and User-Agent.
export async function newDevice(browser, name) {
  const context = await browser.newContext({
    viewport: VIEWPORT,
    userAgent: `${name} (jeff browser test)`,
  });
  context.setDefaultTimeout(30000);  // generous: CI machines have 2 cores
  const page = await context.newPage();
  return { name, context, page };
}

/// Submits the login form the way a person does, ticking "Remember me" when
/// `remember` (the box starts unticked); resolves with the response to the
/// POST (a 303 to /account on success) once the browser has followed it.
export async function logIn(page, app, email, password, { remember = false } = {}) {
  await page.goto(app.url('/login'));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  if (remember) await page.getByLabel('Remember me').check();
  const posted = page.waitForResponse(
    (r) => r.url() === app.url('/login') && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Log in' }).click();
  const response = await posted;
  await page.waitForLoadState();
  return response;
}

/// The rows of the /sessions table: { device, current, revocable }.
export async function sessionRows(page) {
  return page.locator('main table tr:has(td)').evaluateAll((rows) => rows.map((tr) => ({
    device: tr.cells[0].textContent,
    current: tr.classList.contains('current'),
    revocable: tr.querySelector('button') !== null,
  })));
}

/// Saves a PNG of the viewport as <SCREENSHOTS>/<name>.png.
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
