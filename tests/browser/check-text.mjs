#!/usr/bin/env node
// check-text.mjs: the console's words live in console/web/text/ja.json only. Fails when a
// JS file under console/web/js carries Japanese text, when a literal text key
// ('figure.won') is missing from ja.json, or when index.html carries inline script/style.
// Runs without a browser or the network.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(top, 'console', 'web');
const dict = JSON.parse(readFileSync(join(web, 'text', 'ja.json'), 'utf8'));
let passed = 0, failed = 0;
const check = (ok, what) => {
  if (ok) passed++; else failed++;
  console.log((ok ? 'PASS ' : 'FAIL ') + what);
};

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.js') ? [p] : [];
  });
}
function lookup(key) {
  return key.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), dict);
}

const JAPANESE = /[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]/;
for (const f of walk(join(web, 'js'))) {
  // Comments may quote the Japanese they are about; only code is checked.
  const src = readFileSync(f, 'utf8').split('\n').map((l) => l.replace(/(^|\s)\/\/.*$/, '$1')).join('\n');
  const name = relative(top, f);
  const jp = src.split('\n').findIndex((l) => JAPANESE.test(l));
  check(jp < 0, `${name}: no Japanese text in code` + (jp >= 0 ? ` (line ${jp + 1})` : ''));
  const missing = [];
  for (const m of src.matchAll(/'([a-z_]+(?:\.[a-z0-9_]+)+)'/g)) {
    const key = m[1];
    if (/\.(js|json|css|html|png|csv)$/.test(key) || key.endsWith('_')) continue;
    if (typeof lookup(key) !== 'string') missing.push(key);
  }
  for (const m of src.matchAll(/t(?:Or)?\('([a-z_]+)\.' \+/g)) {
    if (typeof lookup(m[1]) !== 'object') missing.push(m[1] + '.*');
  }
  check(!missing.length, `${name}: every text key is in ja.json` + (missing.length ? ` (missing: ${[...new Set(missing)].join(', ')})` : ''));
}

const html = readFileSync(join(web, 'index.html'), 'utf8');
check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'index.html: no inline <script>');
check(!/\sstyle=|<style|\son[a-z]+=/.test(html), 'index.html: no inline style or event handler');
check(!/https?:\/\//.test(html), 'index.html: nothing loaded from another host');
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
