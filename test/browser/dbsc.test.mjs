// Device Bound Session Credentials (issue 29) in Debian's headless Chromium:
// the example app with --dbsc served over HTTPS (its own --tls-cert, a
// certificate made here by openssl and trusted by its public key's hash).
// Login registers the session with the browser's key; the short-lived bound
// cookie expires and Chromium refreshes it by itself (proof of the key); a
// copy of the cookie jar in another profile, which has no key, stops working
// once its short cookie expires; a revoked session ends at its next refresh.
// Chromium's steps are read from CDP (Network.deviceBoundSessionEventOccurred).
//   JEFF_EXAMPLE=<build>/example/jeff-example node --test test/browser/dbsc.test.mjs

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import {
  chromiumArgsForTls, launchChromium, logIn, makeCertificate, newDevice, sessionRows, screenshot,
  startExample,
} from './support.mjs';

const USER = 'ann@example.com';
const PASSWORD = 'correct horse battery staple';
const HOST = 'jeff-dbsc.test';  // mapped to 127.0.0.1 by the browser only
const LONG_COOKIE = 'jeff_session';
const BOUND_COOKIE = 'jeff_bound';
const BOUND_LIFETIME = 3;  // seconds (--dbsc-cookie-lifetime)

// DBSC with software keys (no TPM here). RefreshQuota/false: Chromium signs
// at most 6 proofs per 9 minutes per site otherwise, and refreshes ahead of
// expiry on every request once a cookie has less than about 2 minutes left,
// which a 3-second cookie always has.
const DBSC_ARGS = ['--enable-features=DeviceBoundSessions:RequireOriginTrialTokens/false/RefreshQuota/false,' +
                   'EnableBoundSessionCredentialsSoftwareKeysForManualTesting'];

// Polls `probe` until it returns something truthy; fails with `what` after `ms`.
async function until(what, probe, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('device-bound sessions (DBSC) in Chromium', { timeout: 55000 }, () => {
  let tls;
  let app;
  let browser;
  const devices = [];

  // A browser context (its own cookie jar and DBSC keys) whose DBSC events
  // are collected in `d.events`.
  async function device(name, { watch = true } = {}) {
    const d = await newDevice(browser, name);
    devices.push(d);
    d.events = [];
    if (watch) {
      const cdp = await d.context.newCDPSession(d.page);
      cdp.on('Network.deviceBoundSessionEventOccurred', (e) => d.events.push(e));
      await cdp.send('Network.enable');
      await cdp.send('Network.enableDeviceBoundSessions', { enable: true });
    }
    return d;
  }
  const cookie = async (d, name) => (await d.context.cookies()).find((c) => c.name === name);
  const refreshes = (d) => d.events.filter((e) => e.refreshEventDetails?.refreshResult === 'Refreshed');
  const landing = async (d, path) => {
    await d.page.goto(app.url(path));
    return new URL(d.page.url()).pathname;
  };
  // Waits until the bound cookie `c` (from context.cookies()) has expired.
  const expiry = async (c) => sleep(Math.max(0, c.expires * 1000 - Date.now()) + 300);

  async function logInBound(d) {
    const response = await logIn(d.page, app, USER, PASSWORD, { remember: true });
    assert.equal(response.status(), 303);
    const [registration] = await response.headerValues('secure-session-registration');
    assert.match(registration ?? '', /^\(ES256 RS256\);path="[^"]+";challenge="[^"]+"$/);
    const created = await until(`${d.name}: registration`, () => d.events.find((e) => e.creationEventDetails));
    assert.equal(created.succeeded, true, JSON.stringify(created));
    await until(`${d.name}: the bound cookie`, () => cookie(d, BOUND_COOKIE));
    return created;
  }

  before(async () => {
    tls = makeCertificate(HOST);
    app = await startExample(['--user', `${USER}:${PASSWORD}`, '--dbsc',
                              '--dbsc-cookie-lifetime', String(BOUND_LIFETIME)], { tls });
    browser = await launchChromium([...chromiumArgsForTls(tls), ...DBSC_ARGS]);
  });
  after(async () => {
    for (const d of devices) await d.context.close();
    await browser?.close();
    await app?.stop();
    tls?.remove();
  });

  let laptop;

  test('login registers the session with the browser key: a short bound cookie beside the long one', async () => {
    laptop = await device('Laptop');
    const created = await logInBound(laptop);
    const session = created.creationEventDetails.newSession;
    assert.deepEqual(session.cookieCravings.map((c) => [c.name, c.secure, c.httpOnly, c.path]),
                     [[BOUND_COOKIE, true, true, '/']]);
    assert.equal(new URL(session.refreshUrl).origin, app.origin);

    const long = await cookie(laptop, LONG_COOKIE);
    const bound = await cookie(laptop, BOUND_COOKIE);
    assert.ok(long.expires - Date.now() / 1000 > 24 * 3600, 'the long cookie lasts');
    assert.ok(bound.expires - Date.now() / 1000 <= BOUND_LIFETIME + 1, 'the bound cookie is short');
    assert.equal(bound.secure && bound.httpOnly, true);

    assert.equal(await landing(laptop, '/sessions'), '/sessions');
    const [row] = await sessionRows(laptop.page);
    assert.match(row.device, /bound to this device/);
    await screenshot(laptop.page, 'sessions-dbsc');
  });

  test('the bound cookie expires, Chromium refreshes it by itself, the user stays signed in', async () => {
    for (let round = 1; round <= 2; ++round) {
      const old = await cookie(laptop, BOUND_COOKIE);
      const before = refreshes(laptop).length;
      await expiry(old);
      assert.equal(await landing(laptop, '/account'), '/account', `round ${round}`);
      assert.match(await laptop.page.locator('main').innerText(), /Signed in as ann@example\.com/);
      assert.ok(refreshes(laptop).length > before, `round ${round}: a refresh after expiry`);
      const fresh = await cookie(laptop, BOUND_COOKIE);
      assert.notEqual(fresh.value, old.value, `round ${round}: a new bound cookie`);
    }
    assert.ok(refreshes(laptop).length >= 2);
    assert.equal(laptop.events.some((e) => e.terminationEventDetails), false);
  });

  test('the cookie jar copied into another profile (no key) stops working once its bound cookie expires', async () => {
    const thief = await device('Thief', { watch: false });
    assert.equal(await landing(laptop, '/account'), '/account');  // a fresh bound cookie
    const stolen = await laptop.context.cookies();
    assert.ok(stolen.some((c) => c.name === LONG_COOKIE));
    await thief.context.addCookies(stolen);
    // On a loaded machine the bound cookie may be gone already: then the
    // long cookie is all the thief has, as after any expiry.
    const bound = stolen.find((c) => c.name === BOUND_COOKIE);
    if (bound) await expiry(bound);
    assert.equal(await landing(thief, '/account'), '/login');
    assert.ok(await cookie(thief, LONG_COOKIE), 'the long cookie alone was sent');
    assert.equal(await landing(laptop, '/account'), '/account', 'the owner is still signed in');
  });

  test('a revoked bound session ends at its next refresh', async () => {
    const phone = await device('Phone');
    await logInBound(phone);
    await laptop.page.goto(app.url('/sessions'));
    await laptop.page.locator('tr', { hasText: 'Phone' }).getByRole('button', { name: 'Revoke' }).click();
    await laptop.page.waitForURL(app.url('/sessions'));

    await expiry(await cookie(phone, BOUND_COOKIE));
    assert.equal(await landing(phone, '/account'), '/login');
    const ended = await until('Phone: the session ends', () => phone.events.find((e) => e.terminationEventDetails));
    // Ended by the server's 200 {"session_identifier":…,"continue":false},
    // not by a refresh error: Chromium 156 files it under ServerRequested
    // (without session_identifier it would be InvalidSessionParams).
    assert.equal(ended.terminationEventDetails.deletionReason, 'ServerRequested');
    assert.equal(phone.events.some((e) => e.refreshEventDetails?.fetchResult === 'TransientHttpError'), false);
    assert.equal(await landing(laptop, '/account'), '/account');
  });
});
