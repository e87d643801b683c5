// funnel.js (#/funnel/<stage>): the people who reached a stage in the period and went no
// further - the list a sales manager calls through.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { dateTime, ymd, num } from '../format.js';
import * as router from '../router.js';
import { pageHeader, table, personLink, refLink, csvLink, empty } from '../ui.js';

const STAGES = ['issued', 'clicked', 'claimed', 'contacted', 'won'];

export async function render(root, { params, query }) {
  const stage = params.stage;
  const scope = {};
  for (const k of ['from', 'to', 'campaign', 'branch']) if (query.get(k)) scope[k] = query.get(k);
  const d = await api.get('/funnel/' + encodeURIComponent(stage), { ...scope, limit: 500 });
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, STAGES.map((s) =>
    h('a', { class: ['tab', s === stage && 'active'], href: router.href('/funnel/' + s, scope),
      role: 'tab', 'aria-selected': s === stage ? 'true' : 'false' }, t('funnel.' + s))));
  const list = d.items.length ? table([
    { key: 'person', label: t('col.person'), render: (x) => personLink(x.person) },
    { key: 'code', label: t('col.code'), render: (x) => h('code', null, x.code) },
    { key: 'at', label: t('col.reached_at'), render: (x) => dateTime(x.at) },
    { key: 'rep', label: t('col.rep'), render: (x) => (x.rep ? x.rep.name : t('common.unassigned')) },
    { key: 'referral', label: t('col.referral'), render: (x) => (x.referral_id ? refLink(x.referral_id) : t('common.none')) },
  ], d.items) : empty('funnel.empty');
  replace(root,
    h('p', { class: 'crumbs' }, h('a', { href: router.href('/', {}) }, t('nav.dashboard')), ' / '),
    pageHeader(t('funnel.title', { stage: t('funnel.' + stage) }),
      csvLink('/funnel/' + encodeURIComponent(stage), scope)),
    h('p', { class: 'muted' }, scope.from && scope.to
      ? t('funnel.lead', { stage: t('funnel.' + stage), from: ymd(scope.from), to: ymd(scope.to) })
      : t('funnel.lead_this_month', { stage: t('funnel.' + stage) })),
    tabs,
    h('p', { class: 'muted small' }, t('common.total', { n: num(d.items.length) })),
    list);
}
