// Device Bound Session Credentials (issue 29) in Debian's headless Chromium:
// the example app served over HTTPS (its own --tls-cert, a certificate made
// here by openssl and trusted by its public key's hash), a session bound to
// the browser's key, refreshed by Chromium by itself; a copied cookie and a
// revoked session stop working.
//   JEFF_EXAMPLE=<build>/example/jeff-example node --test test/browser/dbsc.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  chromiumArgsForTls, launchChromium, logIn, makeCertificate, newDevice, startExample,
} from './support.mjs';

const USER = 'ann@example.com';
const PASSWORD = 'correct horse battery staple';
const HOST = 'jeff-dbsc.test';  // mapped to 127.0.0.1 by the browser only

describe('example app over HTTPS in Chromium', { timeout: 55000 }, () => {
  let tls;
  let app;
  let browser;
  const devices = [];

  async function device(name) {
    const d = await newDevice(browser, name);
    devices.push(d);
    return d;
  }

  before(async () => {
    tls = makeCertificate(HOST);
    app = await startExample(['--user', `${USER}:${PASSWORD}`], { tls });
    browser = await launchChromium(chromiumArgsForTls(tls));
  });
  after(async () => {
    for (const d of devices) await d.context.close();
    await browser?.close();
    await app?.stop();
    tls?.remove();
  });

  test('the app serves HTTPS with the test certificate; log in works', async () => {
    const d = await device('Laptop');
    const response = await logIn(d.page, app, USER, PASSWORD);
    assert.equal(response.status(), 303);
    assert.equal(d.page.url(), app.url('/account'));
    assert.equal(new URL(app.origin).protocol, 'https:');
    const security = await response.securityDetails();
    assert.equal(security?.subjectName, HOST);
    assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
  });
});
