// customers.js (#/customers): find a customer by name, LINE display name or code.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { date, num } from '../format.js';
import * as router from '../router.js';
import { filterBar } from '../filters.js';
import { pageHeader, table, personLink, csvLink, empty, pager, badge } from '../ui.js';

const LIMIT = 100;

export function friendBadge(c) {
  return c.friend ? badge(t('customer.friend'), 'ok') : badge(t('customer.blocked'), 'plain');
}

export async function render(root, { query }) {
  const q = Object.fromEntries(query.entries());
  const offset = Number(q.offset) || 0;
  const params = { q: q.q, branch: q.branch, rep: q.rep };
  const d = await api.get('/customers', { ...params, limit: LIMIT, offset });
  const filtered = Object.values(params).some((v) => v);
  replace(root,
    pageHeader(t('nav.customers'), csvLink('/customers', params)),
    filterBar(query, ['q', 'branch', 'rep'], (next) => router.go('/customers', next),
      { qPlaceholder: 'customers.q_placeholder' }),
    d.items.length ? table([
      { key: 'name', label: t('col.customer'), render: (x) => personLink(x.person) },
      { key: 'friend', label: t('col.friend_state'), render: friendBadge },
      { key: 'code', label: t('col.code'), render: (x) => (x.code ? h('code', null, x.code) : t('common.none')) },
      { key: 'rep', label: t('col.rep'), render: (x) => (x.rep ? x.rep.name : t('common.unassigned')) },
      { key: 'branch', label: t('col.branch'), render: (x) => (x.branch ? x.branch.name : t('common.none')) },
      { key: 'made', label: t('col.referrals_made'), num: true, render: (x) => num(x.referrals_made) },
      { key: 'followed', label: t('col.followed_at'), render: (x) => date(x.followed_at) },
    ], d.items) : empty(filtered ? 'customers.empty_filtered' : 'customers.empty'),
    d.items.length ? pager(d.total, offset, LIMIT, (o) => router.go('/customers', { ...q, offset: o })) : null);
}
