// harness.mjs: what the console's browser tests share (console.test.mjs,
// announce.test.mjs): the command line (--url, --shots, logins), Debian's chromium
// through puppeteer-core (installed by setup.sh), pages that record every console error,
// page error, failed asset and CSP violation, the PASS/FAIL lines and the summary.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const opts = {};
for (let i = 2; i < process.argv.length; i += 2) opts[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];

// Exits 2 with usage unless every one of names was given (--url, --login and
// --password are checked here, before the browser starts).
export function need(names, usage) {
  if (names.some((n) => !opts[n])) {
    console.error('usage: ' + usage);
    process.exit(2);
  }
}
need(['url', 'login', 'password'], `${process.argv[1]} --url URL --login L --password PW ...`);

export const BASE = opts.url.replace(/\/$/, '');
export const SHOTS = opts.shots || join(top, 'build', 'console-shots');
mkdirSync(SHOTS, { recursive: true });
const nodeDir = process.env.BROWSER_NODE_DIR || join(top, 'build', 'browser-node');
const puppeteer = createRequire(join(nodeDir, 'package.json'))('puppeteer-core');
const TIMEOUT = 15000;

export const counts = { passed: 0, failed: 0 };
export async function check(name, fn) {
  try {
    const note = await fn();
    counts.passed++;
    console.log('PASS ' + name + (note ? ' (' + note + ')' : ''));
    return true;
  } catch (e) {
    counts.failed++;
    console.log('FAIL ' + name + ': ' + String(e && e.message || e).split('\n')[0]);
    return false;
  }
}
export const must = (cond, msg) => { if (!cond) throw new Error(msg); };

export const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    ...(process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : []),
    '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
    '--font-render-hinting=none', '--lang=ja-JP',
  ],
});

// A fresh browser context (own cookies) with every console error, page error and CSP
// violation recorded.
export async function openPage(width) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  const mobile = width < 500;
  await page.setViewport({ width, height: mobile ? 812 : 900, isMobile: mobile, hasTouch: mobile });
  page.setDefaultTimeout(TIMEOUT);
  page.problems = [];
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' || /Content.Security.Policy/i.test(text)) {
      // Chromium logs every 4xx answer; the API's 4xx are answers the pages handle (401
      // before login, 400 for a bad coupon file). Missing assets are caught below.
      if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
      page.problems.push(`console.${m.type()}: ${text}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  page.on('response', (r) => {
    const u = r.url();
    if (r.status() >= 400 && (u.includes('/admin/static/') || /\/admin\/?$/.test(u))) {
      page.problems.push(`asset ${r.status()}: ${u}`);
    }
    if (r.status() >= 500) page.problems.push(`server ${r.status()}: ${u}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page.ctx = ctx;
  return page;
}

export async function ready(page) {
  await page.waitForFunction(() => {
    const p = document.querySelector('#main .page');
    return p && !p.querySelector('.loading');
  });
}

export async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => location.hash === h, {}, hash);
  await ready(page);
}

export async function shot(page, name) {
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

export async function login(page, user, password) {
  await page.goto(BASE + '/admin/', { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('input[name=login]');
  await page.type('input[name=login]', user);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForSelector('nav.nav'), page.click('.login-form button[type=submit]')]);
  await ready(page);
}

export async function cspAndErrors(page) {
  const csp = await page.evaluate(() => window.__csp || []);
  const all = [...page.problems, ...csp.map((c) => 'csp: ' + c)];
  must(!all.length, all.slice(0, 3).join(' | '));
}

export async function toastSeen(page) {
  await page.waitForFunction(() => {
    const t = document.getElementById('toast');
    return t && t.classList.contains('show');
  });
  return page.$eval('#toast', (t) => t.textContent);
}

export async function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch('/admin/api/v1' + p, { credentials: 'same-origin' });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, path);
}

// Closes the browser, prints the summary and exits 1 on any failure.
export async function finish() {
  await browser.close();
  console.log(`screenshots: ${SHOTS}`);
  console.log(`${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed ? 1 : 0);
}
