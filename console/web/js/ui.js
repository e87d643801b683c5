// ui.js: the pieces every page is made of (tables, cards, empty states, errors, links).
import { h, replace } from './dom.js';
import { t, has } from './text.js';
import { csvUrl } from './api.js';
import { href } from './router.js';
import { pct, num } from './format.js';

export function pageHeader(title, ...actions) {
  return h('div', { class: 'page-head' },
    h('h1', null, title),
    h('div', { class: 'page-actions' }, actions));
}

export function section(title, ...children) {
  return h('section', { class: 'panel' },
    title ? h('h2', { class: 'panel-title' }, title) : null, children);
}

export function loading() {
  return h('div', { class: 'loading', role: 'status' }, t('common.loading'));
}

// An empty list says what to do next, not just "nothing".
export function empty(key) {
  return h('div', { class: 'empty' }, t(key));
}

// What happened, in words from the text file keyed by the API's error code, plus what
// was kept (nothing is half-done: the server answers per item or not at all).
export function errorText(err) {
  const code = err && err.code ? err.code : 'unknown';
  if (code === 'rate_limited' || (err && err.status === 429)) {
    return t('error.rate_limited', { s: err.retryAfter || 60 });
  }
  if (has('error.' + code)) return t('error.' + code);
  if (err && err.status && has('error.http_' + err.status)) return t('error.http_' + err.status);
  return t('error.unknown', { code });
}

export function errorBox(err, keptKey) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', null, errorText(err)),
    keptKey ? h('div', { class: 'alert-sub' }, t(keptKey)) : null);
}

export function notice(text, kind = 'ok') {
  return h('div', { class: 'alert alert-' + kind, role: 'status' }, text);
}

let toastTimer = null;
export function toast(text, kind = 'ok') {
  let box = document.getElementById('toast');
  if (!box) {
    box = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(box);
  }
  box.className = 'toast toast-' + kind + ' show';
  replace(box, text);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.className = 'toast'; }, 4000);
}

export function csvLink(path, params, labelKey) {
  return h('a', { class: 'btn btn-ghost btn-csv', href: csvUrl(path, params), download: '',
    'data-csv': path }, t(labelKey || 'common.csv'));
}

export function personLink(p) {
  if (!p) return t('common.none');
  const label = p.forgotten ? p.name + ' ' + t('common.forgotten_mark') : p.name;
  if (!p.user_id) return label;
  return h('a', { href: href('/customers/' + encodeURIComponent(p.channel) + '/' +
    encodeURIComponent(p.user_id)) }, label);
}

export function refLink(id) {
  return h('a', { href: href('/referrals/' + id) }, t('referral.short', { id }));
}

export function badge(text, kind) {
  return h('span', { class: 'badge badge-' + (kind || 'plain') }, text);
}

// A rate: greyed with its counts when the denominator is under 10, so nobody reads
// 100 % into 1 / 1.
export function rate(r) {
  const p = pct(r);
  if (p === null) return h('span', { class: 'muted' }, t('common.none'));
  if (r.den < 10) {
    return h('span', { class: 'rate-few', title: t('common.few_title') },
      p, ' ', h('small', null, `(${num(r.num)}/${num(r.den)})`));
  }
  return h('span', null, p);
}

// table(columns, rows, opts): columns are {key, label, render(row), num, sort(row)};
// the first column stays in place while the rest scroll sideways on a phone, or, with
// opts.stack, each row becomes a card of labelled cells there.
export function table(columns, rows, opts = {}) {
  const state = { key: opts.sortKey || null, dir: opts.sortDir || -1 };
  const tbody = h('tbody');
  const heads = columns.map((c) => {
    // A row's actions (the column keyed 'act') stay in view when the table scrolls
    // sideways, as its first column does.
    const th = h('th', { class: [c.num && 'num', c.sort && 'sortable', c.key === 'act' && 'act'], scope: 'col' }, c.label);
    if (c.sort) {
      const btn = h('button', { type: 'button', class: 'sort-btn', onclick: () => {
        state.dir = state.key === c.key ? -state.dir : -1;
        state.key = c.key;
        draw();
      } }, c.label);
      replace(th, btn);
    }
    th.dataset.key = c.key;
    return th;
  });
  function draw() {
    let list = rows.slice();
    const col = columns.find((c) => c.key === state.key);
    if (col && col.sort) {
      list.sort((a, b) => {
        const x = col.sort(a), y = col.sort(b);
        // Missing values go last whatever the direction.
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return x < y ? -state.dir : x > y ? state.dir : 0;
      });
    }
    heads.forEach((th) => {
      th.setAttribute('aria-sort', th.dataset.key === state.key
        ? (state.dir > 0 ? 'ascending' : 'descending') : 'none');
    });
    replace(tbody, list.map((row) => {
      const tr = h('tr', opts.rowClass ? { class: opts.rowClass(row) } : null,
        columns.map((c) => h('td', { class: [c.num && 'num', c.key === 'act' && 'act'], 'data-label': opts.stack ? c.label : null },
          c.render ? c.render(row) : row[c.key])));
      return tr;
    }));
  }
  draw();
  return h('div', { class: 'table-wrap' },
    h('table', { class: ['data', opts.stack && 'stack'] }, h('thead', null, h('tr', null, heads)), tbody));
}

// select([{value, label}], current, onchange) with an optional "all" first entry
export function select(name, options, value, onchange, allLabel) {
  const s = h('select', { name, onchange: (e) => onchange(e.target.value) },
    allLabel !== undefined ? h('option', { value: '' }, allLabel) : null,
    options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)));
  s.value = value || '';
  return s;
}

export function field(label, control) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);
}

// A dialog asking for a note before an action; resolves to the note ('' allowed unless
// required) or null when cancelled.
export function askNote({ title, body, okLabel, required, danger }) {
  return new Promise((resolve) => {
    const area = h('textarea', { name: 'note', rows: 3, maxlength: 1000,
      placeholder: t(required ? 'common.note_required' : 'common.note_optional') });
    const msg = h('div', { class: 'dialog-error' });
    const dlg = h('dialog', { class: 'dialog' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    const ok = h('button', { type: 'button', class: danger ? 'btn btn-danger' : 'btn btn-primary',
      onclick: () => {
        const v = area.value.trim();
        if (required && !v) { replace(msg, t('common.note_required')); return; }
        done(v);
      } }, okLabel);
    dlg.append(
      h('h2', null, title),
      body ? h('p', null, body) : null,
      area, msg,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => done(null) },
          t('common.cancel')), ok));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(null); });
    document.body.appendChild(dlg);
    dlg.showModal();
    area.focus();
  });
}

export function pager(total, offset, limit, onpage) {
  if (total <= limit && offset === 0) return h('div', { class: 'pager' }, t('common.total', { n: num(total) }));
  return h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'btn btn-ghost', disabled: offset <= 0,
      onclick: () => onpage(Math.max(0, offset - limit)) }, t('common.prev')),
    h('span', null, t('common.range', { from: num(offset + 1),
      to: num(Math.min(total, offset + limit)), total: num(total) })),
    h('button', { type: 'button', class: 'btn btn-ghost', disabled: offset + limit >= total,
      onclick: () => onpage(offset + limit) }, t('common.next')));
}

// The "what this page is" block used when a list failed to load.
export function failed(root, err) {
  replace(root, errorBox(err, 'common.kept_nothing_changed'));
}

const STATE_KIND = { held: 'warn', suspicious: 'bad', claimed: 'info', contacted: 'info',
  meeting: 'info', won: 'ok', lost: 'plain', rejected: 'plain' };
export function stateBadge(state, label) {
  return badge(label || state, STATE_KIND[state] || 'plain');
}

const REWARD_KIND = { pending: 'warn', approved: 'info', issued: 'ok', voided: 'plain' };
export function rewardBadge(state) {
  return badge(t('reward_state.' + state), REWARD_KIND[state] || 'plain');
}
