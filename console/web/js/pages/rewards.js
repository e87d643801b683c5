// rewards.js (#/rewards): rewards by state; approve or void one or many; the coupon
// pools below (coupons.js).
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { num } from '../format.js';
import { session, can } from '../session.js';
import * as router from '../router.js';
import { filterBar } from '../filters.js';
import { pageHeader, section, csvLink, empty, errorBox, toast, askNote, notice, pager } from '../ui.js';
import { rewardTable } from './reward-table.js';
import { couponsSection } from './coupons.js';

const LIMIT = 100;

function stateTabs(q) {
  const states = ['', ...session.meta.reward_states];
  return h('div', { class: 'tabs', role: 'tablist' }, states.map((s) =>
    h('a', { class: ['tab', (q.state || '') === s && 'active'], role: 'tab',
      href: router.href('/rewards', { ...q, state: s, offset: '' }) },
    s ? t('reward_state.' + s) : t('filter.all'))));
}

export async function render(root, { query }) {
  const q = Object.fromEntries(query.entries());
  const offset = Number(q.offset) || 0;
  const params = { state: q.state, from: q.from, to: q.to, campaign: q.campaign, branch: q.branch };
  const [d, pools] = await Promise.all([
    api.get('/rewards', { ...params, limit: LIMIT, offset }),
    api.get('/coupons').catch((e) => ({ error: e })),
  ]);
  const act = can('act');
  const selected = new Set();
  const msg = h('div');
  const count = h('span', { class: 'bulk-count' });

  async function run(ids, action) {
    const label = t('rewards.' + action);
    const note = await askNote({ title: t('rewards.confirm_title', { label, n: num(ids.length) }),
      body: t('rewards.confirm_body_' + action), okLabel: label,
      required: action === 'void', danger: action === 'void' });
    if (note === null) return;
    let res;
    try {
      res = await api.post('/rewards/' + action, { ids, note: note || undefined });
    } catch (e) {
      replace(msg, errorBox(e, 'common.kept_nothing_changed'));
      return;
    }
    const bad = res.results.filter((r) => !r.ok);
    if (!bad.length) {
      toast(t('rewards.done', { label, n: num(ids.length) }));
      router.go('/rewards', q);
      return;
    }
    // One transaction per id: those that went through stay done, the rest are listed.
    replace(msg, notice(t('rewards.partial', { label, ok: num(ids.length - bad.length), ng: num(bad.length) }), 'warn'),
      h('ul', { class: 'error-lines' }, bad.map((b) => h('li', null,
        t('rewards.short', { id: b.id }), ': ', tOr('error.' + b.error, b.detail || b.error || '')))),
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => router.go('/rewards', q) }, t('common.reload')));
  }

  const bulk = [
    h('button', { type: 'button', class: 'btn btn-primary', dataset: { bulk: 'approve' },
      onclick: () => selected.size && run([...selected], 'approve') }, t('rewards.approve_selected')),
    h('button', { type: 'button', class: 'btn btn-danger-ghost', dataset: { bulk: 'void' },
      onclick: () => selected.size && run([...selected], 'void') }, t('rewards.void_selected')),
  ];
  const refresh = () => {
    replace(count, t('common.selected', { n: num(selected.size) }));
    bulk.forEach((b) => { b.disabled = selected.size === 0; });
  };
  refresh();

  const actions = act ? (x) => h('div', { class: 'row-actions' },
    x.state === 'pending' ? h('button', { type: 'button', class: 'btn btn-small', dataset: { approve: x.id },
      onclick: () => run([x.id], 'approve') }, t('rewards.approve')) : null,
    x.state === 'pending' || x.state === 'approved' ? h('button', { type: 'button',
      class: 'btn btn-small btn-danger-ghost', dataset: { void: x.id },
      onclick: () => run([x.id], 'void') }, t('rewards.void')) : null) : null;

  const filtered = Object.values(params).some((v) => v);
  replace(root,
    pageHeader(t('nav.rewards'), csvLink('/rewards', params)),
    stateTabs(q),
    filterBar(query, ['campaign', 'branch', 'period'], (next) => router.go('/rewards', next)),
    msg,
    d.items.length && act ? h('div', { class: 'bulk-bar' }, count, bulk) : null,
    d.items.length ? rewardTable(d.items, act ? { selected, actions,
      onToggle: (id, on) => { if (on) selected.add(id); else selected.delete(id); refresh(); } } : {})
      : empty(filtered ? 'rewards.empty_filtered' : 'rewards.empty'),
    d.items.length ? pager(d.total, offset, LIMIT, (o) => router.go('/rewards', { ...q, offset: o })) : null,
    pools.error ? section(t('coupons.title'), errorBox(pools.error)) : couponsSection(pools.pools));
}
