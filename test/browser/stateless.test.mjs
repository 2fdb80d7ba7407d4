// The example app in stateless mode (the session is a JWE in the cookie) in
// headless Chromium: a claim set too big for one cookie is split into
// <name>.0, <name>.1, ... (as Auth.js does), sent back whole, and every chunk
// is removed at logout.
//   JEFF_EXAMPLE=<build>/example/jeff-example node --test test/browser/stateless.test.mjs
//
// It runs jeff-example with --stateless, --secret, and --claim NAME=VALUE
// (a claim the JWT callback adds at sign-in) to make the token bigger than
// one cookie.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  launchChromium, logIn, newDevice, screenshot, startExample,
} from './support.mjs';

const USER = 'ann@example.com';
const PASSWORD = 'correct horse battery staple';
const COOKIE = 'jeff_stateless';
const CHUNK_LIMIT = 3936;  // Auth.js splits cookies longer than this

describe('stateless example app in Chromium', {
  timeout: 240000,
}, () => {
  let app;
  let browser;

  before(async () => {
    const secret = ['--secret', 'browser-test-secret-0123456789abcdef0123456789'];
    app = await startExample(['--stateless', ...secret, '--cookie-name', COOKIE,
                              '--user', `${USER}:${PASSWORD}`,
                              '--claim', `notes=${'A long note. '.repeat(400)}`]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  test('a chunked session cookie: log in, reload, log out removes every chunk', async () => {
    const d = await newDevice(browser, 'Laptop');
    const jar = async () => (await d.context.cookies()).filter((c) => c.name.startsWith(COOKIE));
    const names = async () => (await jar()).map((c) => c.name);

    const response = await logIn(d.page, app, USER, PASSWORD);
    assert.equal(response.status(), 303);
    assert.equal(new URL(d.page.url()).pathname, '/account');
    assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
    assert.equal(await d.page.evaluate(() => document.cookie), '');

    const chunks = await jar();
    assert.ok(chunks.length >= 2, `chunked: ${chunks.map((c) => c.name)}`);
    assert.deepEqual(chunks.map((c) => c.name).sort(),
                     chunks.map((_, i) => `${COOKIE}.${i}`).sort());
    for (const c of chunks) {
      assert.deepEqual([c.httpOnly, c.secure, c.sameSite, c.path], [true, true, 'Lax', '/'], c.name);
      assert.ok(c.name.length + c.value.length <= 4096, `${c.name} fits a browser's cookie limit`);
    }
    assert.ok(chunks.reduce((n, c) => n + c.value.length, 0) > CHUNK_LIMIT);

    // The browser sends every chunk back and the app joins them.
    const request = d.page.waitForRequest(app.url('/account'));
    await d.page.reload();
    const sent = (await (await request).allHeaders()).cookie ?? '';
    for (const c of chunks) assert.ok(sent.includes(`${c.name}=`), `${c.name} sent`);
    assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
    assert.ok((await names()).length >= 2, 'still chunked after a reload');
    await screenshot(d.page, 'stateless-account');

    await d.page.getByRole('button', { name: 'Log out' }).click();
    await d.page.waitForURL(app.url('/'));
    assert.deepEqual(await names(), [], 'every chunk removed');
    await d.page.goto(app.url('/account'));
    assert.equal(new URL(d.page.url()).pathname, '/login');
    await d.context.close();
  });
});
