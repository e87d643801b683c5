// customer.js (#/customers/<channel>/<user_id>): one customer - friend since / blocked
// on, rep and branch and how assigned, the referrals they made and came from, rewards.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';
import * as router from '../router.js';
import { pageHeader, section, table, empty } from '../ui.js';
import { referralColumns } from './referrals.js';
import { rewardTable } from './reward-table.js';
import { friendBadge } from './customers.js';

export async function render(root, { params }) {
  const d = await api.get('/customers/' + encodeURIComponent(params.channel) + '/' + encodeURIComponent(params.user));
  const c = d.customer;
  const row = (label, value) => [h('dt', null, label), h('dd', null, value)];
  const title = c.person.forgotten ? c.person.name + ' ' + t('common.forgotten_mark') : c.person.name;
  replace(root,
    h('p', { class: 'crumbs' }, h('a', { href: router.href('/customers') }, t('nav.customers')), ' / '),
    pageHeader(title, friendBadge(c), h('a', { class: 'btn btn-ghost', href: router.href('/conversations/' +
      encodeURIComponent(c.person.channel) + '/' + encodeURIComponent(c.person.user_id)) }, t('customer.conversation'))),
    c.person.forgotten ? h('p', { class: 'alert alert-info' }, t('customer.forgotten')) : null,
    section(t('customer.facts'), h('dl', { class: 'facts' },
      row(t('col.code'), c.code ? h('code', null, c.code) : t('common.none')),
      row(t('col.followed_at'), dateTime(c.followed_at)),
      row(t('col.unfollowed_at'), c.unfollowed_at ? dateTime(c.unfollowed_at) : t('common.none')),
      row(t('col.rep'), c.rep ? c.rep.name : t('common.unassigned')),
      row(t('col.branch'), c.branch ? c.branch.name : t('common.none')),
      row(t('col.rep_source'), c.rep_source ? tOr('rep_source.' + c.rep_source, c.rep_source) : t('common.none')),
      row(t('col.channel'), c.person.channel))),
    section(t('customer.referred_by'), d.referred_by ? table(referralColumns(), [d.referred_by])
      : empty('customer.not_referred')),
    section(t('customer.referrals_made'), d.referrals_made.length ? table(referralColumns(), d.referrals_made)
      : empty('customer.no_referrals')),
    section(t('customer.rewards'), d.rewards.length ? rewardTable(d.rewards) : empty('customer.no_rewards')));
}
