#!/usr/bin/env node
// console.test.mjs: drives the web console in headless Chromium (Debian's chromium through
// puppeteer-core, installed by tests/browser/setup.sh) as an operator would, at 1280 px
// and at 375 px, and keeps a screenshot of every page.
//
//   node tests/browser/console.test.mjs --url http://127.0.0.1:PORT --login admin \
//     --password PW [--manager-login L --manager-password PW] \
//     [--viewer-login L --viewer-password PW] [--shots DIR] [--part all|admin|roles]
//
// --part splits the run so each half fits a test runner's time limit: admin (login
// errors, the admin at both widths with the actions) or roles (manager and viewer).
// The server must hold: at least one pending reward, one held claim, one coupon pool.
// Prints one line per check and "N passed, N failed"; exits 1 on any failure.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { opts, BASE, check, must, openPage, ready, go, shot, login, cspAndErrors, toastSeen, apiGet,
  counts, finish } from './harness.mjs';

async function chartsDrawn(page) {
  return page.evaluate(() => [...document.querySelectorAll('.chart-box canvas')].map((c) => {
    if (!c.width || !c.height) return 0;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  }));
}

// Answers a note dialog opened by an action button.
async function answerDialog(page, note) {
  await page.waitForSelector('dialog[open] textarea');
  if (note) await page.type('dialog[open] textarea', note);
  await page.click('dialog[open] .dialog-actions .btn:last-child');
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
}

// The first row matched by selector: no cell past the screen's right edge, and each cell
// labelled (its column's name) in filled has text.
async function rowReadsWhole(page, selector, filled) {
  const cells = await page.$eval(selector, (tr) => [...tr.cells].map((c, i) => ({
    label: c.dataset.label || tr.closest('table').tHead.rows[0].cells[i].textContent,
    text: c.textContent.trim(),
    cut: c.textContent !== '' && c.getBoundingClientRect().right > window.innerWidth })));
  const cut = cells.filter((c) => c.cut).map((c) => c.label);
  must(!cut.length, 'cells past the screen edge: ' + cut.join(', '));
  for (const label of filled) {
    const c = cells.find((x) => x.label === label);
    must(c && c.text, `no ${label} in the row: ` + JSON.stringify(cells));
  }
  return cells.map((c) => c.label + ' ' + c.text).join(' | ');
}

const PAGES = [['dashboard', '#/'], ['referrals', '#/referrals'], ['review', '#/review'],
  ['rewards', '#/rewards'], ['conversations', '#/conversations'], ['customers', '#/customers'],
  ['reps', '#/reps'], ['ops', '#/ops']];

async function adminRun(width) {
  const tag = width + 'px';
  const page = await openPage(width);
  const ok = await check(`${tag} login`, async () => { await login(page, opts.login, opts.password); });
  if (!ok) { await shot(page, `${width}-login-failed`); await page.ctx.close(); return; }

  await check(`${tag} dashboard: cards and both charts drawn`, async () => {
    await page.waitForSelector('.cards .card');
    await page.waitForFunction(() => document.querySelectorAll('.chart-box canvas').length === 2);
    const px = await chartsDrawn(page);
    must(px.length === 2 && px.every((n) => n > 0), 'canvas pixels ' + JSON.stringify(px));
    const cards = await page.$$eval('.cards .card', (c) => c.length);
    must(cards >= 7, cards + ' cards');
    return `${cards} cards, pixels ${px.join('/')}`;
  });
  await shot(page, `${width}-dashboard`);

  await check(`${tag} dashboard: leaderboard sorts by a column`, async () => {
    const btn = await page.$('.table-wrap th[data-key=win_rate] .sort-btn');
    must(btn, 'no sortable 成約率 column');
    await btn.click();
    const sort = await page.$eval('.table-wrap th[data-key=win_rate]', (th) => th.getAttribute('aria-sort'));
    must(sort === 'descending' || sort === 'ascending', 'aria-sort ' + sort);
  });

  await check(`${tag} funnel: a stage opens its list`, async () => {
    if (width >= 1000) {
      // Click the bar itself on the desktop; the buttons below are the phone's way.
      const pos = await page.evaluate(() => {
        const c = document.querySelectorAll('.chart-box canvas')[1];
        const chart = window.Chart.getChart(c);
        const bar = chart.getDatasetMeta(0).data[2];
        const r = c.getBoundingClientRect();
        return { x: r.left + (bar.base + bar.x) / 2, y: r.top + bar.y };
      });
      await page.mouse.click(pos.x, pos.y);
    } else {
      await page.click('.stage-buttons a[data-stage=claimed]');
    }
    await page.waitForFunction(() => location.hash.startsWith('#/funnel/claimed'));
    await ready(page);
    // ready() can still see the dashboard the click left (a slow TSan build did): wait
    // for the funnel's own tabs, a failure if they never come.
    await page.waitForSelector('.tabs .tab.active', { timeout: 5000 }).catch(() => {});
    must(await page.$('.tabs .tab.active'), 'no stage tabs');
    const rows = await page.$$eval('table.data tbody tr', (r) => r.length);
    return rows + ' people';
  });
  await shot(page, `${width}-funnel`);

  for (const [name, hash] of PAGES.slice(1)) {
    await check(`${tag} ${name} page opens`, async () => {
      await go(page, hash);
      must(!(await page.$('#main .alert-error')), await page.$eval('#main .alert-error', (e) => e.textContent).catch(() => 'error shown'));
    });
    // The tables a manager acts on from a phone are cards there, each read whole.
    const phoneCard = { review: ['紹介者', 'お友だち', '期限', '期限後の扱い'], rewards: ['受取人', '状態'] };
    if (width === 375 && phoneCard[name]) {
      await check(`${tag} a ${name} row reads whole on a phone: ${phoneCard[name].join(', ')}`,
        () => rowReadsWhole(page, 'table.data tbody tr', phoneCard[name]));
    }
    if (name === 'ops') {
      await page.waitForFunction(() => [...document.querySelectorAll('.rm-image')].every((i) => i.complete), { timeout: 5000 }).catch(() => {});
      // loginErrors() ran first: its wrong password is a row, its reason in Japanese
      await check(`${tag} the audit log words its details in Japanese`, async () => {
        const rows = await page.$$eval('.audit tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
        const failed = rows.find((cells) => cells.includes('ログイン失敗'));
        must(failed, 'no failed login in the audit log: ' + JSON.stringify(rows.slice(0, 3)));
        must(failed.includes('パスワード違い'), failed.join(' | '));
        must(!rows.some((cells) => cells.some((c) => c.startsWith('{'))), 'a detail shown as JSON');
        return failed.join(' | ');
      });
      if (width === 375) {
        await check(`${tag} an audit row reads whole on a phone, no sideways scroll`,
          () => rowReadsWhole(page, '.audit tbody tr', []));
      }
    }
    await shot(page, `${width}-${name}`);
  }

  await check(`${tag} referral detail shows its timeline`, async () => {
    await go(page, '#/referrals');
    const link = await page.$('table.data tbody tr td:first-child a');
    must(link, 'no referral in the list');
    await link.click();
    await page.waitForFunction(() => /^#\/referrals\/\d+/.test(location.hash));
    await ready(page);
    await page.waitForSelector('.timeline, .empty');
  });
  await shot(page, `${width}-referral`);

  await check(`${tag} customer detail opens`, async () => {
    await go(page, '#/customers');
    const link = await page.$('table.data tbody tr td:first-child a');
    must(link, 'no customer in the list');
    await link.click();
    await page.waitForFunction(() => location.hash.startsWith('#/customers/'));
    await ready(page);
    await page.waitForSelector('dl.facts');
  });
  await shot(page, `${width}-customer`);

  // The desktop run answers and resolves the wait (actions below); the phone run, after
  // it, opens the same conversation from the closed tab.
  await check(`${tag} a waiting customer's conversation reads as a chat`, async () => {
    await go(page, width >= 1000 ? '#/conversations' : '#/conversations?state=closed');
    const link = await page.$('table.data tbody tr td:first-child a');
    must(link, 'no customer in the list');
    await link.click();
    await page.waitForFunction(() => location.hash.startsWith('#/conversations/'));
    await ready(page);
    await page.waitForSelector('ol.chat .chat-row');
    const rows = await page.$$eval('ol.chat .chat-row', (r) => r.map((x) => [x.classList.contains('chat-in') ? 'in' : 'out',
      x.querySelector('.bubble').textContent]));
    const last = rows[rows.length - 1];
    must(rows.some((r) => r[0] === 'out'), 'no bot message in the thread');
    if (width >= 1000) {
      must(last[0] === 'in' && last[1].startsWith('見積もりをお願い'), 'newest at the bottom: ' + JSON.stringify(last));
      must(await page.$('.handoff-bar'), 'no waiting bar');
    } else {
      must(last[0] === 'out' && last[1].includes('火曜日の14時'), 'the answer at the bottom: ' + JSON.stringify(last));
    }
  });
  await shot(page, `${width}-conversation`);

  if (width >= 1000) await actions(page, tag);

  await check(`${tag} no console errors or CSP violations`, () => cspAndErrors(page));

  await check(`${tag} an expired session goes back to the login page`, async () => {
    const cookies = await page.cookies(BASE + '/admin/');
    await page.deleteCookie(...cookies);
    await page.evaluate(() => { location.hash = '#/reps?x=1'; });
    await page.waitForSelector('input[name=login]');
  });
  await page.ctx.close();
}

// The state-changing journeys, once (at the desktop width).
async function actions(page, tag) {
  await check(`${tag} answer a waiting customer and resolve`, async () => {
    await go(page, '#/conversations');
    await (await page.$('table.data tbody tr td:first-child a')).click();
    await page.waitForSelector('form.composer textarea');
    const before = await page.$$eval('ol.chat .chat-row', (r) => r.length);
    await page.type('form.composer textarea', '担当の高橋です。火曜日の14時はいかがでしょうか。');
    await page.click('form.composer button[type=submit]');
    await toastSeen(page);
    await page.waitForFunction((n) => document.querySelectorAll('ol.chat .chat-row').length === n + 1, {}, before);
    const mine = await page.$eval('ol.chat .chat-row:last-child', (x) => [x.className, x.textContent]);
    must(mine[0].includes('chat-person') && mine[1].includes('火曜日の14時'), 'the answer: ' + JSON.stringify(mine));
    await page.click('[data-resolve]');
    await toastSeen(page);
    await page.waitForFunction(() => !document.querySelector('.handoff-bar'));
    const api = await apiGet(page, '/conversations?state=open');
    must(api.status === 200 && api.body.items.length === 0, 'still waiting: ' + JSON.stringify(api.body));
    // The next action waits for its own toast, not this one.
    await page.waitForFunction(() => !document.querySelector('#toast.show'));
  });
  await shot(page, `${tag}-conversation-answered`);

  await check(`${tag} approve a pending reward`, async () => {
    await go(page, '#/rewards?state=pending');
    const btn = await page.$('[data-approve]');
    must(btn, 'no pending reward to approve');
    const id = Number(await btn.evaluate((b) => b.dataset.approve));
    await btn.click();
    await answerDialog(page, '');
    await toastSeen(page);
    // Approved, or already issued: the rewards tick takes an approved reward's coupon
    // within a second, and a loaded machine may get there before this read.
    const r = await apiGet(page, '/rewards?limit=500');
    const got = r.body.items.find((x) => x.id === id);
    must(got && (got.state === 'approved' || got.state === 'issued'),
      `reward ${id} is ${got ? got.state : 'missing'}, not approved`);
    return 'reward ' + id;
  });
  await shot(page, '1280-rewards-approved');

  await check(`${tag} a held claim's own page decides as 審査 does`, async () => {
    const held = (await apiGet(page, '/review')).body;
    must(held && held.items && held.items.length, 'no held claim');
    const id = held.items[0].referral.id;
    await go(page, '#/referrals/' + id);
    await page.waitForSelector('.move-buttons button');
    const b = await page.$$eval('.move-buttons button', (bs) => bs.map((x) => [x.dataset.move, x.textContent]));
    const label = (m) => (b.find(([k]) => k === m) || [])[1];
    must(label('claimed') === '承認' && label('rejected') === '却下', JSON.stringify(b));
    return 'referral ' + id + ': ' + b.map(([, l]) => l).join(' ');
  });

  await check(`${tag} reject a held claim with a note`, async () => {
    await go(page, '#/review');
    const btn = await page.$('[data-reject]');
    must(btn, 'no held claim to reject');
    const id = Number(await btn.evaluate((b) => b.dataset.reject));
    await btn.click();
    await answerDialog(page, 'ブラウザテストによる却下');
    await toastSeen(page);
    const r = await apiGet(page, '/referrals/' + id);
    must(r.body && r.body.referral.state === 'rejected', `referral ${id} is ${r.body && r.body.referral.state}`);
    return 'referral ' + id;
  });

  const dir = mkdtempSync(join(tmpdir(), 'shokai-coupons-'));
  const bad = join(dir, 'bad.csv');
  const good = join(dir, 'good.csv');
  const stamp = Date.now().toString(36).toUpperCase();
  writeFileSync(bad, 'code\nGOOD-' + stamp + '-1\nbad code with spaces\n' + 'X'.repeat(300) + '\n');
  writeFileSync(good, 'code\n' + [1, 2, 3].map((i) => `BT-${stamp}-${i}`).join('\n') + '\n');
  await check(`${tag} coupon upload: a bad file lists its bad lines`, async () => {
    await go(page, '#/rewards');
    const input = await page.$('.upload-form input[type=file]');
    must(input, 'no upload form');
    await input.uploadFile(bad);
    await page.click('.upload-form button[type=submit]');
    await page.waitForSelector('.upload-result .error-lines li');
    const lines = await page.$$eval('.upload-result .error-lines li', (l) => l.map((x) => x.textContent));
    must(lines.length >= 1, 'no error lines');
    return lines.length + ' bad lines';
  });
  await shot(page, '1280-coupons-bad');
  await check(`${tag} coupon upload: a good file is added`, async () => {
    const input = await page.$('.upload-form input[type=file]');
    await input.uploadFile(good);
    await page.click('.upload-form button[type=submit]');
    await page.waitForSelector('.upload-result .alert-ok');
  });

  await check(`${tag} CSV export has a BOM and a header`, async () => {
    await go(page, '#/referrals');
    const href = await page.$eval('a[data-csv]', (a) => a.getAttribute('href'));
    const r = await page.evaluate(async (u) => {
      const res = await fetch(u, { credentials: 'same-origin' });
      const b = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, type: res.headers.get('Content-Type'), head: [...b.slice(0, 3)],
        first: new TextDecoder().decode(b).replace(/^\ufeff/, '').split(/\r?\n/)[0] };
    }, href);
    must(r.status === 200, 'HTTP ' + r.status);
    must(/text\/csv/.test(r.type || ''), 'Content-Type ' + r.type);
    must(r.head.join() === '239,187,191', 'no UTF-8 BOM');
    must(r.first.split(',').length >= 2, 'header ' + r.first);
    return r.first.slice(0, 40);
  });

  await check(`${tag} retry a failed message (when one exists)`, async () => {
    await go(page, '#/ops');
    const btn = await page.$('[data-retry]');
    if (!btn) return 'none failed';
    await btn.click();
    await toastSeen(page);
  });
}

async function roleRun(role, user, password) {
  const page = await openPage(1280);
  await check(`${role} login`, () => login(page, user, password));
  const navs = await page.$$eval('nav.nav a', (a) => a.map((x) => x.getAttribute('href')));
  await check(`${role} navigation has no 運用`, async () => { must(!navs.includes('#/ops'), navs.join(' ')); });
  await check(`${role} dashboard charts drawn`, async () => {
    await page.waitForFunction(() => document.querySelectorAll('.chart-box canvas').length === 2);
    const px = await chartsDrawn(page);
    must(px.every((n) => n > 0), JSON.stringify(px));
  });
  await shot(page, `1280-${role}-dashboard`);
  await check(`${role} rewards page has no coupon upload`, async () => {
    await go(page, '#/rewards');
    must(!(await page.$('.upload-form')), 'upload form shown');
  });
  if (role === 'viewer') {
    await check('viewer sees no action buttons', async () => {
      must(!(await page.$('[data-approve], [data-void], [data-bulk]')), 'reward actions shown');
      await go(page, '#/review');
      must(!(await page.$('[data-approve], [data-reject], [data-bulk]')), 'review actions shown');
      await go(page, '#/referrals');
      const link = await page.$('table.data tbody tr td:first-child a');
      if (link) {
        await link.click();
        await page.waitForFunction(() => /^#\/referrals\/\d+/.test(location.hash));
        await ready(page);
        must(!(await page.$('.move-buttons, .note-form')), 'move or note controls shown');
      }
    });
  }
  await shot(page, `1280-${role}-last`);
  await check(`${role} #/ops is refused in the page`, async () => {
    await go(page, '#/ops');
    must(await page.$('#main .alert-error'), 'ops page drawn');
  });
  await check(`${role} no console errors or CSP violations`, () => cspAndErrors(page));
  await page.ctx.close();
}

async function loginErrors() {
  const page = await openPage(375);
  await check('login: a wrong password says so', async () => {
    await page.goto(BASE + '/admin/', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('input[name=login]');
    await page.type('input[name=login]', opts.login);
    await page.type('input[name=password]', 'wrong-password-for-the-test');
    await page.click('.login-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('.login-msg').textContent.length > 0);
  });
  await shot(page, '375-login');
  await check('login page: no console errors or CSP violations', () => cspAndErrors(page));
  await page.ctx.close();
}

const part = opts.part || 'all';
try {
  if (part !== 'roles') {
    await loginErrors();
    await adminRun(1280);
    await adminRun(375);
  }
  if (part !== 'admin' && opts['manager-login']) await roleRun('manager', opts['manager-login'], opts['manager-password']);
  if (part !== 'admin' && opts['viewer-login']) await roleRun('viewer', opts['viewer-login'], opts['viewer-password']);
} catch (e) {
  counts.failed++;
  console.log('FAIL test run stopped: ' + (e && e.stack || e));
}
await finish();
