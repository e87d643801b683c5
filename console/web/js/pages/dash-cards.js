// dash-cards.js: the dashboard's figure cards, each with the previous period beside it.
import { h } from '../dom.js';
import { t, tOr } from '../text.js';
import { num, pct, duration, ratio } from '../format.js';
import { rate } from '../ui.js';

// kind: 'count' | 'rate' | 'time'; for 'time' a rise is bad news.
function delta(kind, cur, prev) {
  let d, text;
  if (kind === 'rate') {
    if (!cur || !prev || !cur.den || !prev.den) return null;
    d = (ratio(cur) - ratio(prev)) * 100;
    text = (Math.round(Math.abs(d) * 10) / 10).toFixed(1) + t('unit.pt');
  } else if (kind === 'time') {
    if (cur === null || prev === null || cur === undefined || prev === undefined) return null;
    d = cur - prev;
    text = duration(Math.abs(d));
  } else {
    d = cur - prev;
    text = num(Math.abs(d));
  }
  if (Math.abs(d) < 1e-9) return h('span', { class: 'delta flat' }, t('delta.flat'));
  const up = d > 0;
  const good = kind === 'time' ? !up : up;
  return h('span', { class: ['delta', up ? 'up' : 'down', good ? 'good' : 'bad'] },
    t(up ? 'delta.up' : 'delta.down', { d: text }));
}

function show(kind, v) {
  if (kind === 'rate') return rate(v);
  if (kind === 'time') return duration(v);
  return num(v);
}

function card(key, kind, cur, prev, sub) {
  const few = kind === 'rate' && cur && cur.den < 10;
  return h('div', { class: ['card', few && 'card-few'], dataset: { figure: key } },
    h('div', { class: 'card-label' }, t('figure.' + key)),
    h('div', { class: 'card-value' }, show(kind, cur)),
    h('div', { class: 'card-prev' },
      h('span', { class: 'muted' }, t('dashboard.previous'), ' ',
        kind === 'rate' ? (pct(prev) || t('common.none')) : show(kind, prev)),
      ' ', delta(kind, cur, prev)),
    sub ? h('div', { class: 'card-sub' }, sub) : null);
}

export function cards(f, p) {
  const list = [
    card('issued', 'count', f.issued, p.issued, t('dashboard.referrers', { n: num(f.referrers) })),
    card('clicks', 'count', f.clicks, p.clicks,
      [t('figure.click_rate'), ' ', rate(f.click_rate)]),
    card('claimed', 'count', f.claimed, p.claimed,
      [t('figure.claim_rate'), ' ', rate(f.claim_rate)]),
    card('won', 'count', f.won, p.won, t('dashboard.lost', { n: num(f.lost) })),
    card('rewards', 'count', f.rewards_issued, p.rewards_issued,
      t('dashboard.rewards_pending', { n: num(f.rewards_pending) })),
    card('win_rate', 'rate', f.win_rate, p.win_rate,
      t('dashboard.counts', { num: num(f.win_rate.num), den: num(f.win_rate.den) })),
    card('first_action', 'time', f.first_action_median_s, p.first_action_median_s,
      t('dashboard.median')),
  ];
  if (f.target) {
    list.push(card('target_rate', 'rate', f.target_rate, p.target_rate,
      t('dashboard.target', { n: num(f.target) })));
  }
  return h('div', { class: 'cards' }, list);
}

// Held and rejected claims in words: what the review rules caught this period.
export function catches(f) {
  const reasons = Object.entries(f.rejected_by_reason || {}).filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return h('div', { class: 'catches' },
    h('div', { class: 'catch' },
      h('span', { class: 'catch-label' }, t('figure.held')),
      h('a', { href: '#/review', class: 'catch-value' }, num(f.held)),
      f.held_overdue ? h('span', { class: 'badge badge-warn' },
        t('dashboard.overdue', { n: num(f.held_overdue) })) : null),
    h('div', { class: 'catch' },
      h('span', { class: 'catch-label' }, t('figure.rejected')),
      h('span', { class: 'catch-value' }, num(f.rejected)),
      reasons.length ? h('ul', { class: 'reason-list' }, reasons.map(([r, n]) =>
        h('li', null, tOr('reason.' + r, r), ' ', h('b', null, num(n))))) : null),
    h('div', { class: 'catch' },
      h('span', { class: 'catch-label' }, t('figure.in_progress')),
      h('span', { class: 'catch-value' }, num(f.contacted + f.meeting)),
      h('span', { class: 'muted' }, t('dashboard.contacted_meeting',
        { c: num(f.contacted), m: num(f.meeting) }))));
}
