#!/usr/bin/env node
// announce.test.mjs: the お知らせ page (issue 13, part 4) in headless Chromium, as an
// admin at 1280 px and on a phone (375x812), and as a viewer: choose the announcement and
// a segment, see the count, push a test, send now, follow the send to its results; the
// refusal of a send the quota could not carry shows its numbers. Screenshots of each.
//
//   node tests/browser/announce.test.mjs --url http://127.0.0.1:PORT --login admin \
//     --password PW --test-to Uxxx [--manager-login L --manager-password PW]
//     [--viewer-login L --viewer-password PW] [--shots DIR]
//
// The server must hold one announcement "campaign" offered to branch:shinjuku with
// friends there, and a refused send #1 to all; the manager's branch is shinjuku (and
// only the admin's send to it, made here, is theirs to see). Prints one line per check and "N passed, N
// failed"; exits 1 on any failure.
import { opts, need, check, must, openPage, ready, go, shot, login, cspAndErrors, counts,
  finish } from './harness.mjs';

need(['test-to'], 'announce.test.mjs --url URL --login L --password PW --test-to U... ...');

// Nothing wider than the screen: a phone user never scrolls sideways to read or tap.
async function fitsWidth(page, width) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  must(w <= width, `the page is ${w} px wide on a ${width} px screen`);
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.replace(/\s+/g, ' ').trim());

async function adminRun(width) {
  const tag = width + 'px';
  const page = await openPage(width);
  if (!await check(`${tag} login`, () => login(page, opts.login, opts.password))) return;
  await check(`${tag} the navigation leads to お知らせ`, async () => {
    await page.click('nav.nav a[data-path="/announcements"]');
    await page.waitForFunction(() => location.hash === '#/announcements');
    await ready(page);
    await page.waitForSelector('select[name=announcement]');
    const bubble = await text(page, '.announce-bubble');
    must(bubble.includes('株式会社テスト'), 'message preview: ' + bubble);
  });
  await check(`${tag} the refused send shows the quota's numbers`, async () => {
    await go(page, '#/announcements/1');
    const alert = await text(page, '.alert-error');
    must(alert.includes('残り1,000通') && alert.includes('1,200人'), alert);
    await fitsWidth(page, width);
  });
  await shot(page, `${width}-announce-refused`);
  await go(page, '#/announcements');
  await check(`${tag} a branch's count`, async () => {
    await page.select('select[name=segment_kind]', 'branch');
    await page.waitForSelector('select[name=segment_arg]');
    await page.select('select[name=segment_arg]', 'shinjuku');
    await page.click('button[data-act=preview]');
    await page.waitForSelector('.announce-counts .card');
    const cards = await page.$$eval('.announce-counts .card-value', (c) => c.map((x) => x.textContent));
    must(JSON.stringify(cards) === JSON.stringify(['3', '1', '1']), 'cards ' + JSON.stringify(cards));
    await fitsWidth(page, width);
  });
  await shot(page, `${width}-announce-compose`);
  if (width < 500) {
    await cspAndErrors(page);
    await page.ctx.close();
    return;
  }
  await check(`${tag} a test push to yourself`, async () => {
    await page.click('input[name=test_to]', { clickCount: 3 });
    await page.type('input[name=test_to]', opts['test-to']);
    await page.click('button[data-act=test]');
    await page.waitForFunction(() => {
      const t = document.getElementById('toast');
      return t && t.classList.contains('show');
    });
  });
  await check(`${tag} send now, confirm, follow it to 送信済み with its results`, async () => {
    await page.click('button[data-act=send]');
    await page.waitForSelector('dialog[open] [data-confirm=send]');
    const body = await text(page, 'dialog[open] p');
    must(body.includes('3人'), 'confirmation: ' + body);
    await page.click('dialog[open] [data-confirm=send]');
    await page.waitForFunction(() => /^#\/announcements\/\d+$/.test(location.hash));
    await ready(page);
    await page.waitForFunction(() => document.querySelector('dl.facts .badge') &&
      document.querySelector('dl.facts .badge').textContent === '送信済み', { timeout: 20000 });
    const vals = await page.$$eval('.cards .card', (cs) => cs.map((c) =>
      c.querySelector('.card-label').textContent + '=' + c.querySelector('.card-value').textContent));
    must(vals.includes('届いた人数=3') && vals.includes('紹介の登録=0'), vals.join(', '));
  });
  await shot(page, `${width}-announce-sent`);
  await check(`${tag} no console error or CSP violation`, () => cspAndErrors(page));
  await page.ctx.close();
}

async function phoneDetail() {
  const page = await openPage(375);
  await login(page, opts.login, opts.password);
  await check('375px a sent announcement reads on a phone', async () => {
    await go(page, '#/announcements/2');
    await page.waitForSelector('.cards .card');
    const badge = await text(page, 'dl.facts .badge');
    must(badge === '送信済み', 'state ' + badge);
    await fitsWidth(page, 375);
    await cspAndErrors(page);
  });
  await shot(page, '375-announce-sent');
  await page.ctx.close();
}

async function managerRun() {
  const page = await openPage(375);
  if (!await check('manager login', () => login(page, opts['manager-login'], opts['manager-password']))) return;
  await check('manager: only a branch or rep of theirs, and only their sends', async () => {
    await go(page, '#/announcements');
    const kinds = await page.$$eval('select[name=segment_kind] option', (o) => o.map((x) => x.value));
    must(JSON.stringify(kinds) === JSON.stringify(['branch', 'rep']), 'kinds ' + JSON.stringify(kinds));
    const branches = await page.$$eval('select[name=segment_arg] option', (o) => o.map((x) => x.value));
    must(JSON.stringify(branches) === JSON.stringify(['shinjuku']), 'branches ' + JSON.stringify(branches));
    const rows = await page.$$eval('.table-wrap tbody tr', (r) => r.map((x) => x.textContent));
    must(rows.length === 1 && rows[0].includes('新宿支店'), 'sends ' + JSON.stringify(rows));
    await fitsWidth(page, 375);
    await cspAndErrors(page);
  });
  await shot(page, 'manager-375-announce');
  await page.ctx.close();
}

async function viewerRun() {
  const page = await openPage(1280);
  if (!await check('viewer login', () => login(page, opts['viewer-login'], opts['viewer-password']))) return;
  await check('viewer: counts, but no test or send', async () => {
    await go(page, '#/announcements');
    await page.click('button[data-act=preview]');
    await page.waitForSelector('.announce-counts .card');
    must(!await page.$('button[data-act=send]') && !await page.$('button[data-act=test]'),
      'a viewer sees the send buttons');
    await cspAndErrors(page);
  });
  await shot(page, 'viewer-announce');
  await page.ctx.close();
}

try {
  await adminRun(1280);
  await adminRun(375);
  await phoneDetail();
  if (opts['manager-login']) await managerRun();
  if (opts['viewer-login']) await viewerRun();
} catch (e) {
  counts.failed++;
  console.log('FAIL test run stopped: ' + (e && e.stack || e));
}
await finish();
