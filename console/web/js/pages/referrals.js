// referrals.js (#/referrals): every referral in scope, filtered, newest first.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';
import * as router from '../router.js';
import { filterBar } from '../filters.js';
import { pageHeader, table, personLink, refLink, stateBadge, csvLink, empty, pager } from '../ui.js';
import { campaignName } from '../session.js';

const LIMIT = 100;

export function referralColumns() {
  return [
    { key: 'id', label: t('col.referral'), render: (x) => refLink(x.id) },
    { key: 'state', label: t('col.state'), render: (x) => stateBadge(x.state, x.state_label) },
    { key: 'referrer', label: t('col.referrer'), render: (x) => personLink(x.referrer) },
    { key: 'partner', label: t('col.partner'), render: (x) => (x.partner ? t('filter.partners_only') : '') },
    { key: 'referee', label: t('col.referee'), render: (x) => personLink(x.referee) },
    { key: 'rep', label: t('col.rep'), render: (x) => (x.rep ? x.rep.name : t('common.unassigned')) },
    { key: 'branch', label: t('col.branch'), render: (x) => (x.branch ? x.branch.name : t('common.none')) },
    { key: 'campaign', label: t('col.campaign'), render: (x) => campaignName(x.campaign) },
    { key: 'claimed_at', label: t('col.claimed_at'), render: (x) => dateTime(x.claimed_at) },
    { key: 'updated_at', label: t('col.updated_at'), render: (x) => dateTime(x.updated_at) },
  ];
}

export async function render(root, { query }) {
  const q = Object.fromEntries(query.entries());
  const offset = Number(q.offset) || 0;
  const params = { state: q.state, from: q.from, to: q.to, campaign: q.campaign,
    branch: q.branch, rep: q.rep, q: q.q, partner: q.partner };
  const d = await api.get('/referrals', { ...params, limit: LIMIT, offset });
  const filtered = Object.values(params).some((v) => v);
  replace(root,
    pageHeader(t('nav.referrals'), csvLink('/referrals', params)),
    filterBar(query, ['state', 'partner', 'branch', 'rep', 'campaign', 'period', 'q'],
      (next) => router.go('/referrals', next)),
    d.items.length ? table(referralColumns(), d.items)
      : empty(filtered ? 'referrals.empty_filtered' : 'referrals.empty'),
    d.items.length ? pager(d.total, offset, LIMIT, (o) => router.go('/referrals', { ...q, offset: o })) : null);
}
