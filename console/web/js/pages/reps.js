// reps.js (#/reps): per rep, open referrals and those still waiting for a first action
// (oldest first, with how long), this month's wins and conversion.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { num, duration, age, ratio } from '../format.js';
import * as router from '../router.js';
import { filterBar } from '../filters.js';
import { pageHeader, table, rate, csvLink, empty } from '../ui.js';

const SHOWN_WAITING = 5;

function waiting(x, now) {
  if (!x.waiting.length) return h('span', { class: 'muted' }, t('reps.none_waiting'));
  const oldest = now - x.waiting[0].since;
  return h('div', { class: 'waiting' },
    h('span', { class: ['badge', oldest > 86400000 ? 'badge-bad' : 'badge-warn'] },
      t('reps.waiting_count', { n: num(x.waiting.length) })),
    x.waiting.slice(0, SHOWN_WAITING).map((w) =>
      h('a', { class: 'chip', href: router.href('/referrals/' + w.referral_id) },
        t('referral.short', { id: w.referral_id }), ' ', h('small', null, age(w.since, now)))),
    x.waiting.length > SHOWN_WAITING ? h('span', { class: 'muted small' },
      t('reps.more', { n: num(x.waiting.length - SHOWN_WAITING) })) : null);
}

export async function render(root, { query }) {
  const q = Object.fromEntries(query.entries());
  const params = { branch: q.branch };
  const d = await api.get('/reps', params);
  const now = Date.now();
  replace(root,
    pageHeader(t('nav.reps'), csvLink('/reps', params)),
    h('p', { class: 'muted' }, t('reps.lead')),
    filterBar(query, ['branch'], (next) => router.go('/reps', next)),
    d.items.length ? table([
      { key: 'name', label: t('col.rep'), render: (x) => h('a', { href: router.href('/referrals', { rep: x.code }) }, x.name),
        sort: (x) => x.name },
      { key: 'branch', label: t('col.branch'), render: (x) => (x.branch ? x.branch.name : t('common.none')) },
      { key: 'open', label: t('figure.open'), num: true, render: (x) => num(x.open), sort: (x) => x.open },
      { key: 'waiting', label: t('reps.waiting'), render: (x) => waiting(x, now),
        sort: (x) => (x.waiting.length ? now - x.waiting[0].since : 0) },
      { key: 'claimed', label: t('reps.claimed_month'), num: true, render: (x) => num(x.claimed), sort: (x) => x.claimed },
      { key: 'won', label: t('reps.won_month'), num: true, render: (x) => num(x.won), sort: (x) => x.won },
      { key: 'win_rate', label: t('figure.win_rate'), num: true, render: (x) => rate(x.win_rate),
        sort: (x) => (x.win_rate.den ? ratio(x.win_rate) : null) },
      { key: 'first', label: t('figure.first_action'), num: true, render: (x) => duration(x.first_action_median_s),
        sort: (x) => x.first_action_median_s },
    ], d.items, { sortKey: 'waiting' }) : empty('reps.empty'));
}
