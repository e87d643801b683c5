// conversations.js (#/conversations): customers waiting for a person, the longest wait
// first: who, how long, the rep and who was told, whether it went to the managers, and
// their last words; the closed ones on the second tab.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime, duration } from '../format.js';
import * as router from '../router.js';
import { pageHeader, table, empty, badge } from '../ui.js';

export function conversationHref(person) {
  return router.href('/conversations/' + encodeURIComponent(person.channel) + '/' +
    encodeURIComponent(person.user_id));
}

// "rep:R001,managers:shinjuku" -> 担当者 → 支店のマネージャー
export function notifiedText(notified) {
  if (!notified) return t('common.none');
  return notified.split(',').map((n) => tOr('handoff.notified_' + n.split(':')[0], n))
    .join(' → ');
}

export function handoffBadge(x) {
  if (x.state !== 'open') return badge(t('handoff.state_' + x.state), 'plain');
  if (x.escalated_at) return badge(t('handoff.escalated'), 'bad');
  if (x.answered_at) return badge(t('handoff.answered'), 'ok');
  if (x.seen_at) return badge(t('handoff.seen'), 'info');
  return badge(t('handoff.waiting'), 'warn');
}

export async function render(root, { query }) {
  const closed = query.get('state') === 'closed';
  const d = await api.get('/conversations', { state: closed ? 'closed' : 'open' });
  const tab = (key, on, state) => h('a', { class: ['tab', on && 'active'],
    href: router.href('/conversations', state ? { state } : {}) }, t(key));
  const cols = [
    { key: 'person', label: t('col.customer'), render: (x) => h('a', { href: conversationHref(x.person) },
      x.person.name) },
    { key: 'state', label: t('col.state'), render: (x) => handoffBadge(x) },
    { key: 'waited', label: closed ? t('col.handoff_took') : t('col.waited'), num: true,
      sort: (x) => x.waited_s, render: (x) => duration(x.waited_s) },
    { key: 'last', label: t('col.last_message'), render: (x) => h('span', { class: 'last-text' },
      x.last_text === null ? t('conversation.text_deleted') : x.last_text) },
    { key: 'rep', label: t('col.rep'), render: (x) => (x.rep ? x.rep.name : t('common.unassigned')) },
    { key: 'branch', label: t('col.branch'), render: (x) => (x.branch ? x.branch.name : t('common.none')) },
    { key: 'notified', label: t('col.notified'), render: (x) => notifiedText(x.notified) },
    { key: 'opened', label: t('col.opened_at'), render: (x) => dateTime(x.opened_at) },
  ];
  replace(root,
    pageHeader(t('nav.conversations')),
    h('p', { class: 'muted' }, t(closed ? 'conversations.lead_closed' : 'conversations.lead')),
    h('div', { class: 'tabs', role: 'tablist' },
      tab('conversations.tab_open', !closed, null), tab('conversations.tab_closed', closed, 'closed')),
    d.items.length ? table(cols, d.items, { rowClass: (x) => (x.escalated_at && x.state === 'open' ? 'row-warn' : null) })
      : empty(closed ? 'conversations.empty_closed' : 'conversations.empty'));
}
