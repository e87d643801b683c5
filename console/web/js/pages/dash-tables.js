// dash-tables.js: leaderboards (branch, rep), top referrers and target attainment.
import { h } from '../dom.js';
import { t } from '../text.js';
import { num, duration, ratio } from '../format.js';
import { table, rate, personLink, empty } from '../ui.js';

const r = (x) => (x && x.den ? ratio(x) : null);

export function leaderboard(rows, nameKey) {
  if (!rows.length) return empty('dashboard.no_rows');
  return table([
    { key: 'name', label: t(nameKey), render: (x) => x.name, sort: (x) => x.name },
    { key: 'claimed', label: t('figure.claimed'), num: true, render: (x) => num(x.claimed), sort: (x) => x.claimed },
    { key: 'won', label: t('figure.won'), num: true, render: (x) => num(x.won), sort: (x) => x.won },
    { key: 'win_rate', label: t('figure.win_rate'), num: true, render: (x) => rate(x.win_rate), sort: (x) => r(x.win_rate) },
    { key: 'first_action', label: t('figure.first_action'), num: true,
      render: (x) => duration(x.first_action_median_s), sort: (x) => x.first_action_median_s },
    { key: 'open', label: t('figure.open'), num: true, render: (x) => num(x.open), sort: (x) => x.open },
  ], rows, { sortKey: 'won' });
}

export function topReferrers(rows) {
  if (!rows.length) return empty('dashboard.no_referrers');
  return table([
    { key: 'person', label: t('dashboard.referrer'), render: (x) => personLink(x.person) },
    { key: 'claimed', label: t('figure.claimed'), num: true, render: (x) => num(x.claimed) },
    { key: 'won', label: t('figure.won'), num: true, render: (x) => num(x.won) },
  ], rows);
}

// A bar per branch with a target: won against the monthly target.
export function targets(branches) {
  const rows = branches.filter((b) => b.target);
  if (!rows.length) return empty('dashboard.no_targets');
  return h('div', { class: 'targets' }, rows.map((b) => {
    const share = b.target ? b.won / b.target : 0;
    const fill = h('div', { class: ['bar-fill', share >= 1 && 'done'] });
    fill.style.width = Math.min(100, share * 100).toFixed(1) + '%';
    return h('div', { class: 'target-row' },
      h('div', { class: 'target-name' }, b.name),
      h('div', { class: 'bar' }, fill),
      h('div', { class: 'target-num' }, rate(b.target_rate || { num: b.won, den: b.target }), ' ',
        h('small', { class: 'muted' }, t('dashboard.won_of_target', { won: num(b.won), target: num(b.target) }))));
  }));
}
