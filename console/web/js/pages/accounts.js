// accounts.js: console accounts (managed with shokaictl user) and the audit log, newest
// first, paged with `before`.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';
import { session } from '../session.js';
import { href } from '../router.js';
import { table, badge, empty, csvLink, errorBox, personLink } from '../ui.js';

const AUDIT_PAGE = 20;

export function accounts(items) {
  if (!items.length) return empty('ops.no_users');
  const branchName = (code) => (session.meta.branches.find((b) => b.code === code) || { name: code }).name;
  return table([
    { key: 'login', label: t('col.login'), render: (x) => h('code', null, x.login) },
    { key: 'name', label: t('col.name'), render: (x) => x.name },
    { key: 'role', label: t('col.role'), render: (x) => t('role.' + x.role) },
    { key: 'branches', label: t('col.branches'), render: (x) => (x.branches.length ? x.branches.map(branchName).join(t('common.list_sep')) : t('ops.all_branches')) },
    { key: 'state', label: t('col.account_state'), render: (x) => (x.disabled ? badge(t('ops.disabled'), 'plain') : badge(t('ops.enabled'), 'ok')) },
    { key: 'last', label: t('col.last_login'), render: (x) => dateTime(x.last_login_at) },
  ], items, { stack: true });
}

function targetCell(x) {
  if (x.person) return personLink(x.person);
  const ref = /^referral:(\d+)$/.exec(x.target || '');
  if (ref) return h('a', { href: href('/referrals/' + ref[1]) }, x.target_words);
  return x.target_words;
}

function auditRows(items) {
  return table([
    { key: 'at', label: t('col.at'), render: (x) => dateTime(x.at) },
    { key: 'actor', label: t('col.actor'), render: (x) => x.actor },
    { key: 'action', label: t('col.action'), render: (x) => x.action_words },
    // shokaid words the target (a person by name, 紹介 #12); people and referrals link.
    { key: 'target', label: t('col.target'), render: targetCell },
    // shokaid words both from text/ja.json (console_wording.c), as in the CSV export.
    { key: 'detail', label: t('col.detail'), render: (x) => x.detail_words },
    { key: 'client', label: t('col.client'), render: (x) => x.client || '' },
  ], items, { stack: true });
}

export function auditLog(first) {
  const box = h('div', { class: 'audit' });
  const more = h('button', { type: 'button', class: 'btn btn-ghost' }, t('ops.audit_more'));
  let last = first.items.length ? first.items[first.items.length - 1].id : null;
  if (!first.items.length) return h('div', null, empty('ops.audit_empty'));
  box.appendChild(auditRows(first.items));
  more.hidden = first.items.length < AUDIT_PAGE;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const next = await api.get('/audit', { limit: AUDIT_PAGE, before: last });
      if (next.items.length) {
        box.appendChild(auditRows(next.items));
        last = next.items[next.items.length - 1].id;
      }
      more.hidden = next.items.length < AUDIT_PAGE;
    } catch (e) {
      replace(more.parentNode.querySelector('.audit-msg'), errorBox(e));
    } finally {
      more.disabled = false;
    }
  });
  return h('div', null, h('div', { class: 'panel-tools' }, csvLink('/audit', {})), box,
    h('div', { class: 'audit-msg' }), more);
}

export { AUDIT_PAGE };
