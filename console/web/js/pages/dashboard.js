// dashboard.js (#/): the period's figures against the previous period, the trend, the
// funnel (each stage opens the people who stopped there) and the leaderboards.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { ymd } from '../format.js';
import { session, showBranchSelector } from '../session.js';
import * as router from '../router.js';
import { PRESETS, range } from '../period.js';
import { section, select, field, csvLink } from '../ui.js';
import { chartBox, trendChart, funnelChart } from '../charts.js';
import { cards, catches } from './dash-cards.js';
import { leaderboard, topReferrers, targets } from './dash-tables.js';

// The dashboard's query -> the API's from/to/campaign/branch.
export function scope(query) {
  const meta = session.meta;
  const preset = PRESETS.includes(query.get('period')) ? query.get('period') : 'this_month';
  const { from, to } = range(preset, meta.today, query.get('from'), query.get('to'));
  return { preset, from, to, campaign: query.get('campaign') || '', branch: query.get('branch') || '' };
}

function selectors(s, onchange) {
  const meta = session.meta;
  const parts = [
    field(t('filter.period'), select('period', PRESETS.map((p) => ({ value: p, label: t('period.' + p) })),
      s.preset, (v) => onchange({ ...s, preset: v }))),
  ];
  if (s.preset === 'custom') {
    const from = h('input', { type: 'date', name: 'from', value: s.from, max: meta.today });
    const to = h('input', { type: 'date', name: 'to', value: s.to, max: meta.today });
    const apply = () => onchange({ ...s, from: from.value, to: to.value });
    from.addEventListener('change', apply);
    to.addEventListener('change', apply);
    parts.push(field(t('filter.from'), from), field(t('filter.to'), to));
  }
  parts.push(field(t('filter.campaign'), select('campaign', meta.campaigns.map((c) => ({
    value: c.id, label: c.name })), s.campaign, (v) => onchange({ ...s, campaign: v }), t('filter.all'))));
  if (showBranchSelector()) {
    parts.push(field(t('filter.branch'), select('branch', meta.branches.map((b) => ({
      value: b.code, label: b.name })), s.branch, (v) => onchange({ ...s, branch: v }), t('filter.all'))));
  }
  return h('div', { class: 'filters' }, parts);
}

function toQuery(s) {
  return { period: s.preset, from: s.preset === 'custom' ? s.from : '', to: s.preset === 'custom' ? s.to : '',
    campaign: s.campaign, branch: s.branch };
}

export async function render(root, { query }) {
  const s = scope(query);
  const params = { from: s.from, to: s.to, campaign: s.campaign, branch: s.branch };
  const d = await api.get('/dashboard', params);
  const charts = [];
  const funnelHref = (stage) => router.href('/funnel/' + stage, params);

  const trend = chartBox(t('dashboard.trend'));
  const fun = chartBox(t('dashboard.funnel'), true);
  const stageButtons = h('div', { class: 'stage-buttons' }, d.funnel.map((f) =>
    h('a', { class: 'btn btn-ghost btn-small', href: funnelHref(f.stage), dataset: { stage: f.stage } },
      t('dashboard.stopped_at', { stage: t('funnel.' + f.stage) }))));

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', null, t('nav.dashboard')),
      h('div', { class: 'page-sub muted' }, t('dashboard.period_line', {
        from: ymd(d.from), to: ymd(d.to), pfrom: ymd(d.previous_from), pto: ymd(d.previous_to) }))),
    selectors(s, (next) => router.go('/', toQuery(next))),
    cards(d.figures, d.previous),
    catches(d.figures),
    h('div', { class: 'grid-2' },
      section(t('dashboard.trend'), trend.box),
      section(t('dashboard.funnel'), fun.box, h('p', { class: 'muted small' }, t('dashboard.funnel_hint')),
        stageButtons)),
    h('div', { class: 'grid-2' },
      section(t('dashboard.by_branch'), leaderboard(d.branches, 'dashboard.branch')),
      section(t('dashboard.by_rep'), leaderboard(d.reps, 'dashboard.rep'))),
    h('div', { class: 'grid-2' },
      section(t('dashboard.top_referrers'), topReferrers(d.top_referrers)),
      section(t('figure.target_rate'), targets(d.branches))),
    h('div', { class: 'page-foot' }, csvLink('/referrals', params, 'dashboard.csv_referrals')));

  charts.push(trendChart(trend.canvas, d.trend));
  charts.push(funnelChart(fun.canvas, d.funnel, (stage) => { location.hash = funnelHref(stage); }));
  return () => charts.forEach((c) => c.destroy());
}
