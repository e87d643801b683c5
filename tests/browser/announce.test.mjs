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
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const opts = {};
for (let i = 2; i < process.argv.length; i += 2) opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opts.url || !opts.login || !opts.password || !opts['test-to']) {
  console.error('usage: announce.test.mjs --url URL --login L --password PW --test-to U... ...');
  process.exit(2);
}
const BASE = opts.url.replace(/\/$/, '');
const SHOTS = opts.shots || join(top, 'build', 'console-shots');
mkdirSync(SHOTS, { recursive: true });
const nodeDir = process.env.BROWSER_NODE_DIR || join(top, 'build', 'browser-node');
const puppeteer = createRequire(join(nodeDir, 'package.json'))('puppeteer-core');
const TIMEOUT = 15000;

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    const note = await fn();
    passed++;
    console.log('PASS ' + name + (note ? ' (' + note + ')' : ''));
    return true;
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + String(e && e.message || e).split('\n')[0]);
    return false;
  }
}
const must = (cond, msg) => { if (!cond) throw new Error(msg); };

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--font-render-hinting=none', '--lang=ja-JP',
  ],
});

async function openPage(width) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  const mobile = width < 500;
  await page.setViewport({ width, height: mobile ? 812 : 900, isMobile: mobile, hasTouch: mobile });
  page.setDefaultTimeout(TIMEOUT);
  page.problems = [];
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' || /Content.Security.Policy/i.test(text)) {
      if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
      page.problems.push(`console.${m.type()}: ${text}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('response', (r) => {
    if (r.status() >= 500) page.problems.push(`server ${r.status()}: ${r.url()}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.ctx = ctx;
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => {
    const p = document.querySelector('#main .page');
    return p && !p.querySelector('.loading');
  });
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h, {}, hash);
  await ready(page);
}

async function shot(page, name) {
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

async function login(page, user, password) {
  await page.goto(BASE + '/admin/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('input[name=login]');
  await page.type('input[name=login]', user);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForSelector('nav.nav'), page.click('.login-form button[type=submit]')]);
  await ready(page);
}

async function clean(page) {
  const csp = await page.evaluate(() => window.__csp || []);
  const all = [...page.problems, ...csp.map((c) => 'csp: ' + c)];
  must(!all.length, all.slice(0, 3).join(' | '));
}

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
    await clean(page);
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
  await check(`${tag} no console error or CSP violation`, () => clean(page));
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
    await clean(page);
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
    await clean(page);
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
    await clean(page);
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
  failed++;
  console.log('FAIL test run stopped: ' + (e && e.stack || e));
} finally {
  await browser.close();
}
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
