// The example app (stateful sessions, memory store) driven in headless
// Chromium: what only a real browser proves about jeff's cookies.
//   JEFF_EXAMPLE=<build>/example/jeff-example node --test test/browser/example.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  launchChromium, logIn, newDevice, screenshot, sessionRows, startAttacker, startExample,
} from './support.mjs';

const PASSWORD = 'correct horse battery staple';
const USERS = ['ann', 'bob', 'cat', 'dan', 'eve'].map((n) => `${n}@example.com`);
const THIRTY_DAYS = 30 * 24 * 3600;

let app;
let browser;
const devices = [];

async function device(name) {
  const d = await newDevice(browser, name);
  devices.push(d);
  return d;
}

// Where a page that needs a session lands when loaded in `d` now.
async function landing(d, path) {
  await d.page.goto(app.url(path));
  return new URL(d.page.url()).pathname;
}

before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

describe('example app in Chromium', { timeout: 540000 }, () => {
  before(async () => {
    app = await startExample(USERS.flatMap((u) => ['--user', `${u}:${PASSWORD}`]));
  });
  after(async () => {
    for (const d of devices) await d.context.close();
    await app?.stop();
  });

  test('a protected page without a session redirects to /login', async () => {
    const d = await device('Stranger');
    for (const path of ['/account', '/sessions']) {
      const response = await d.page.goto(app.url(path));
      assert.equal(new URL(d.page.url()).pathname, '/login');
      const first = await response.request().redirectedFrom()?.response();
      assert.equal(first?.status(), 302, `${path} answers 302`);
      assert.equal(first?.url(), app.url(path));
    }
    await screenshot(d.page, 'login');
    assert.deepEqual(await d.context.cookies(), []);
  });

  test('a wrong password shows the form again and sets no cookie', async () => {
    const d = await device('Guesser');
    const response = await logIn(d.page, app, USERS[0], 'wrong password');
    assert.equal(response.status(), 401);
    await assert.doesNotReject(d.page.getByText('Wrong email or password.').waitFor());
    assert.deepEqual(await d.context.cookies(), []);
  });

  test('log in through the form: /account shows the user; the cookie is HttpOnly, Secure, SameSite=Lax, Path=/', async () => {
    const d = await device('Laptop');
    const response = await logIn(d.page, app, USERS[0], PASSWORD, { remember: true });
    assert.equal(response.status(), 303);
    assert.equal(d.page.url(), app.url('/account'));
    assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
    assert.match(await d.page.locator('main').innerText(), /Laptop \(jeff browser test\)/);

    // HttpOnly: page script can read nothing...
    assert.equal(await d.page.evaluate(() => document.cookie), '');

    // What the browser kept: a Secure cookie is accepted from http://127.0.0.1,
    // which Chromium treats as a secure context.
    const cookies = await d.context.cookies();
    assert.equal(cookies.length, 1);
    const [cookie] = cookies;
    assert.equal(cookie.name, 'jeff_session');
    assert.equal(cookie.domain, '127.0.0.1');  // host-only: no leading dot
    assert.equal(cookie.path, '/');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.ok(Math.abs(cookie.expires - (Date.now() / 1000 + THIRTY_DAYS)) < 120, 'expires in 30 days');

    // ...and cannot overwrite the cookie.
    await d.page.evaluate(() => { document.cookie = 'jeff_session=forged; path=/'; });
    assert.equal((await d.context.cookies())[0].value, cookie.value);
    assert.equal(await landing(d, '/account'), '/account');
    await screenshot(d.page, 'account');

    // What the server sent.
    const [setCookie] = await response.headerValues('set-cookie');
    assert.match(setCookie, /^jeff_session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43};/);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Lax', 'Path=/', `Max-Age=${THIRTY_DAYS}`]) {
      assert.ok(setCookie.split('; ').includes(attribute), `${attribute} in ${setCookie}`);
    }
    assert.doesNotMatch(setCookie, /Domain=/i);
  });

  test('SameSite=Lax: a link from another site is followed with the session, a form POST is not', async () => {
    const d = await device('Linked');
    await logIn(d.page, app, USERS[0], PASSWORD);
    const attacker = await startAttacker();
    try {
      // localhost and 127.0.0.1 are different sites to the browser.
      await d.page.goto(`http://localhost:${attacker.port}/link?href=${encodeURIComponent(app.url('/account'))}`);
      const request = d.page.waitForRequest(app.url('/account'));
      await d.page.getByRole('link', { name: 'my account' }).click();
      assert.match((await (await request).allHeaders()).cookie ?? '', /jeff_session=/);
      await d.page.waitForURL(app.url('/account'));
      assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
    } finally {
      await attacker.stop();
    }
  });

  test('two devices see both sessions; revoking one from the other logs it out on its next request', async () => {
    const laptop = await device('Laptop');
    const phone = await device('Phone');
    await logIn(laptop.page, app, USERS[1], PASSWORD);
    await logIn(phone.page, app, USERS[1], PASSWORD);

    for (const d of [laptop, phone]) {
      await d.page.goto(app.url('/sessions'));
      const rows = await sessionRows(d.page);
      assert.equal(rows.length, 2, `${d.name} sees both sessions`);
      const own = rows.filter((r) => r.current);
      assert.equal(own.length, 1);
      assert.match(own[0].device, new RegExp(`^${d.name} .*\\(this device\\)$`));
      assert.equal(own[0].revocable, false, 'no revoke button for the current session');
      assert.equal(rows.filter((r) => r.revocable).length, 1);
    }
    await laptop.page.goto(app.url('/sessions'));
    await screenshot(laptop.page, 'sessions');

    await laptop.page.locator('tr', { hasText: 'Phone' }).getByRole('button', { name: 'Revoke' }).click();
    await laptop.page.waitForURL(app.url('/sessions'));
    const rows = await sessionRows(laptop.page);
    assert.deepEqual(rows.map((r) => r.device), ['Laptop (jeff browser test) (this device)']);

    // The phone still holds its cookie, but the server no longer knows it:
    // it lands on the login page, which says why, once.
    assert.equal((await phone.context.cookies()).length, 1);
    assert.equal(await landing(phone, '/account'), '/login');
    assert.match(await phone.page.locator('main').innerText(), /You were signed out/);
    assert.deepEqual(await phone.context.cookies(), []);
    assert.equal(await landing(phone, '/account'), '/login');
    assert.doesNotMatch(await phone.page.locator('main').innerText(), /You were signed out/);
    assert.equal(await landing(laptop, '/account'), '/account');
  });

  test('"Sign out everywhere else" ends every other session, says how many, keeps this one and hides', async () => {
    const [desk, phone, tablet] = [await device('Desk'), await device('Phone'), await device('Tablet')];
    for (const d of [desk, phone, tablet]) await logIn(d.page, app, USERS[2], PASSWORD);
    await desk.page.goto(app.url('/sessions'));
    assert.equal((await sessionRows(desk.page)).length, 3);

    await desk.page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await desk.page.waitForURL(app.url('/sessions?signed_out=2'));
    assert.match(await desk.page.locator('main').innerText(), /Signed out 2 other devices\./);
    const rows = await sessionRows(desk.page);
    assert.deepEqual(rows.map((r) => r.current), [true]);
    assert.equal(await desk.page.getByRole('button', { name: 'Sign out everywhere else' }).count(), 0);
    assert.equal(await landing(phone, '/sessions'), '/login');
    assert.equal(await landing(tablet, '/account'), '/login');
    assert.equal(await landing(desk, '/account'), '/account');
  });

  test('log out: the cookie is removed and the old value no longer works', async () => {
    const d = await device('Laptop');
    await logIn(d.page, app, USERS[3], PASSWORD);
    const [before] = await d.context.cookies();
    await d.page.getByRole('button', { name: 'Log out' }).click();
    await d.page.waitForURL(app.url('/'));
    assert.match(await d.page.locator('main').innerText(), /not signed in/);
    assert.deepEqual(await d.context.cookies(), []);
    assert.equal(await landing(d, '/account'), '/login');

    // Logout ended the session on the server, not only in this browser.
    await d.context.addCookies([before]);
    assert.equal(await landing(d, '/account'), '/login');
  });

  test('a form POST from another origin is refused (403) and changes nothing', async () => {
    const victim = await device('Victim');
    const other = await device('Other');
    await logIn(victim.page, app, USERS[4], PASSWORD);
    await logIn(other.page, app, USERS[4], PASSWORD);
    await victim.page.goto(app.url('/sessions'));
    const otherId = await victim.page.locator('input[name=id]').getAttribute('value');
    assert.match(otherId, /^[0-9a-f-]{36}$/);

    const attacker = await startAttacker();
    try {
      const forgeries = [
        ['/sessions/revoke', { id: otherId }],
        ['/sessions/others', {}],
        ['/logout', {}],
        ['/login', { email: USERS[4], password: PASSWORD }],  // login CSRF
      ];
      // 127.0.0.1:<other port> is same-site (the Lax cookie goes along) but
      // another origin: the Origin check refuses it. localhost:<other port> is
      // another site: the cookie stays home and the Origin check refuses it.
      for (const [host, cookieSent] of [['127.0.0.1', true], ['localhost', false]]) {
        for (const [path, fields] of forgeries) {
          const query = new URLSearchParams({ action: app.url(path), ...fields });
          await victim.page.goto(`http://${host}:${attacker.port}/form?${query}`);
          const posted = victim.page.waitForResponse(app.url(path));
          await victim.page.getByRole('button', { name: 'Claim your prize' }).click();
          const response = await posted;
          const what = `POST ${path} from http://${host}:${attacker.port}`;
          assert.equal(response.status(), 403, what);
          const headers = await response.request().allHeaders();
          assert.equal(headers.origin, `http://${host}:${attacker.port}`, what);
          assert.equal(/jeff_session=/.test(headers.cookie ?? ''), cookieSent, `${what}: cookie sent`);
        }
      }
    } finally {
      await attacker.stop();
    }

    // Nothing changed: both devices are still signed in, no session was added.
    assert.equal(await landing(other, '/account'), '/account');
    assert.equal(await landing(victim, '/sessions'), '/sessions');
    assert.equal((await sessionRows(victim.page)).length, 2);
  });

  test('"remember me" unticked (the default): the cookie ends with the browser; ticked: 30 days', async () => {
    const d = await device('Kiosk');
    await d.page.goto(app.url('/login'));
    assert.equal(await d.page.getByLabel('Remember me').isChecked(), false);
    await logIn(d.page, app, USERS[3], PASSWORD);
    assert.equal(d.page.url(), app.url('/account'));
    const [once] = await d.context.cookies();
    assert.equal(once.name, 'jeff_session');
    assert.equal(once.expires, -1, 'a browser-session cookie has no expiry');

    const r = await device('Home PC');
    await logIn(r.page, app, USERS[3], PASSWORD, { remember: true });
    const [kept] = await r.context.cookies();
    const left = kept.expires - Date.now() / 1000;
    assert.ok(Math.abs(left - THIRTY_DAYS) < 120, `expires in ${left} s`);
  });

  test('?next= brings the login back to the page asked for, never to another site', async () => {
    const d = await device('Bookmark');
    await d.page.goto(app.url('/sessions'));
    assert.equal(d.page.url(), app.url('/login?next=/sessions'));
    await d.page.getByLabel('Email').fill(USERS[4]);
    await d.page.getByLabel('Password').fill(PASSWORD);
    await d.page.getByRole('button', { name: 'Log in' }).click();
    await d.page.waitForURL(app.url('/sessions'));
    // Signed in, /login goes on at once; a next= naming another host is ignored.
    for (const next of ['//evil.example/', '/%5Cevil.example/', 'https://evil.example/']) {
      await d.page.goto(app.url(`/login?next=${next}`));
      assert.equal(d.page.url(), app.url('/account'), next);
    }
  });

  test('a 390 px phone: no page scrolls sideways, no table header breaks inside a word', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
                 '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    });
    devices.push({ context });
    const page = await context.newPage();
    // Several devices, so that the sessions list has rows to lay out.
    for (const name of ['Phone A', 'Phone B']) {
      const other = await device(name);
      await logIn(other.page, app, USERS[2], PASSWORD);
    }
    const widths = {};
    await page.goto(app.url('/login'));
    widths['/login'] = await page.evaluate(() => document.documentElement.scrollWidth);
    await logIn(page, app, USERS[2], PASSWORD);
    const brokenHeaders = [];
    for (const path of ['/account', '/sessions', '/no-such-page']) {
      await page.goto(app.url(path));
      widths[path] = await page.evaluate(() => document.documentElement.scrollWidth);
      // A header on more than one line: its text was broken (the headers are short).
      brokenHeaders.push(...await page.locator('th').evaluateAll((ths) => ths
        .filter((th) => th.offsetParent !== null && th.textContent)
        .filter((th) => {
          const range = document.createRange();
          range.selectNodeContents(th);
          return range.getClientRects().length > 1;
        })
        .map((th) => th.textContent)));
    }
    await page.goto(app.url('/sessions'));
    await screenshot(page, 'sessions-phone');
    for (const [path, width] of Object.entries(widths)) assert.ok(width <= 390, `${path}: ${width} px wide`);
    assert.deepEqual(brokenHeaders, []);
    assert.match(await page.locator('main').innerText(), /Safari on iPhone \(this device\)/);
  });
});

describe('example app with a __Host- cookie', { timeout: 240000 }, () => {
  let hostApp;
  before(async () => {
    hostApp = await startExample(['--cookie-name', '__Host-jeff', '--user', `${USERS[0]}:${PASSWORD}`]);
  });
  after(async () => {
    await hostApp?.stop();
  });

  test('Chromium keeps the __Host- cookie and the session works', async () => {
    const d = await newDevice(browser, 'Laptop');
    try {
      const response = await logIn(d.page, hostApp, USERS[0], PASSWORD);
      assert.equal(response.status(), 303);
      const [setCookie] = await response.headerValues('set-cookie');
      assert.match(setCookie, /^__Host-jeff=/);
      const cookies = await d.context.cookies();
      assert.deepEqual(cookies.map((c) => [c.name, c.domain, c.path, c.secure, c.httpOnly, c.sameSite]),
                       [['__Host-jeff', '127.0.0.1', '/', true, true, 'Lax']]);
      assert.equal(new URL(d.page.url()).pathname, '/account');
      assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
      await d.page.getByRole('button', { name: 'Log out' }).click();
      await d.page.waitForURL(hostApp.url('/'));
      assert.deepEqual(await d.context.cookies(), []);
    } finally {
      await d.context.close();
    }
  });
});

describe('example app on plain HTTP under a host name', { timeout: 240000 }, () => {
  // myhost.test is 127.0.0.1 to this Chromium, but not a secure context: a
  // Secure cookie from http://myhost.test is dropped.
  const HOST = 'myhost.test';
  let named;
  let strict;
  let dev;
  const on = (app) => ({ url: (p) => `http://${HOST}:${app.port}${p}` });
  before(async () => {
    named = await launchChromium([`--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
    strict = await startExample(['--user', `${USERS[0]}:${PASSWORD}`]);
    dev = await startExample((port) => ['--insecure', '--origin', `http://${HOST}:${port}`,
                                        '--user', `${USERS[0]}:${PASSWORD}`]);
  });
  after(async () => {
    await named?.close();
    await strict?.stop();
    await dev?.stop();
  });

  test('a Secure cookie: the login page says why logging in cannot work and names --insecure', async () => {
    const d = await newDevice(named, 'Laptop');
    try {
      const origin = `http://${HOST}:${strict.port}`;
      await d.page.goto(on(strict).url('/login'));
      const notice = `Logging in cannot work at ${origin}`;
      assert.ok((await d.page.locator('main').innerText()).includes(notice));
      assert.match(await d.page.locator('main').innerText(), /restart the server with --insecure --origin /);
      const response = await logIn(d.page, on(strict), USERS[0], PASSWORD);
      assert.equal(response.status(), 403);
      assert.ok((await d.page.locator('main').innerText()).includes(notice));
      assert.deepEqual(await d.context.cookies(), []);
    } finally {
      await d.context.close();
    }
  });

  test('with --insecure and the host\'s origin, the login sticks', async () => {
    const d = await newDevice(named, 'Laptop');
    try {
      const response = await logIn(d.page, on(dev), USERS[0], PASSWORD);
      assert.equal(response.status(), 303);
      assert.equal(new URL(d.page.url()).pathname, '/account');
      assert.match(await d.page.locator('main').innerText(), /Signed in as ann@example\.com/);
      assert.doesNotMatch(await d.page.locator('main').innerText(), /cannot work/);
    } finally {
      await d.context.close();
    }
  });
});
