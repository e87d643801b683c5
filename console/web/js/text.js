// text.js: every word the console shows comes from text/ja.json, looked up by key.
let dict = {};

export async function loadText() {
  const res = await fetch('/admin/static/text/ja.json', { credentials: 'same-origin' });
  if (!res.ok) throw new Error('text/ja.json: HTTP ' + res.status);
  dict = await res.json();
}

function lookup(key) {
  let v = dict;
  for (const part of key.split('.')) {
    if (v === null || typeof v !== 'object' || !(part in v)) return undefined;
    v = v[part];
  }
  return v;
}

export function has(key) {
  return typeof lookup(key) === 'string';
}

// t('rewards.count', {n: 3}) -> the text with {n} filled in; a missing key shows as
// itself so a gap is visible on screen rather than blank.
export function t(key, vars) {
  const v = lookup(key);
  if (typeof v !== 'string') return key;
  if (!vars) return v;
  return v.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

// tOr('reason.' + code, code): a label for a code the config or API may add later.
export function tOr(key, fallback) {
  return has(key) ? t(key) : fallback;
}
