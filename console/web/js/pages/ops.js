// ops.js (#/ops, admins): failed outbox messages with 再送, quarantined bodies, the
// config in force and its last reload, rich menus, accounts and the audit log.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime, num } from '../format.js';
import { pageHeader, section, table, personLink, empty, errorBox, toast, badge } from '../ui.js';
import { richMenus } from './richmenus.js';
import { accounts, auditLog, AUDIT_PAGE } from './accounts.js';

function outbox(rows) {
  if (!rows.length) return empty('ops.outbox_empty');
  const msg = h('div');
  return h('div', null, msg, table([
    { key: 'id', label: t('col.message'), render: (x) => '#' + x.id },
    { key: 'state', label: t('col.state'), render: (x) => badge(t('outbox.' + x.state), x.state === 'failed' ? 'bad' : 'warn') },
    { key: 'target', label: t('col.recipient'), render: (x) => personLink(x.target) },
    { key: 'kind', label: t('col.kind'), render: (x) => tOr('outbox_kind.' + x.kind, x.kind) },
    { key: 'channel', label: t('col.channel'), render: (x) => x.platform + ' / ' + x.channel },
    { key: 'attempts', label: t('col.attempts'), num: true, render: (x) => num(x.attempts) },
    { key: 'error', label: t('col.platform_error'), render: (x) =>
      [x.last_status ? h('code', null, String(x.last_status)) : null, ' ', x.last_error || ''] },
    { key: 'created', label: t('col.created_at'), render: (x) => dateTime(x.created_at) },
    { key: 'act', label: t('col.actions'), render: (x) => h('button', { type: 'button', class: 'btn btn-small',
      dataset: { retry: x.id }, onclick: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        try {
          const r = await api.post('/outbox/' + x.id + '/retry', {});
          replace(b.parentNode, badge(t('ops.retried'), 'ok'));
          toast(t('ops.retry_done', { id: r.id }));
        } catch (err) {
          b.disabled = false;
          replace(msg, errorBox(err, 'ops.kept_retry'));
        }
      } }, t('ops.retry')) },
  ], rows));
}

function quarantine(q) {
  return h('div', null,
    h('p', null, h('span', { class: 'big-num' }, num(q.count)), ' ', t('ops.quarantine_count')),
    q.by_reason.length ? h('ul', { class: 'reason-list' }, q.by_reason.map((r) =>
      // The reasons are the webhook parser's English sentences, kept as they are for
      // whoever reads the quarantined bodies with shokaictl.
      h('li', null, h('code', null, r.reason), ' ', h('b', null, num(r.count)))))
      : empty('ops.quarantine_empty'));
}

function config(c) {
  const lr = c.last_reload;
  return h('div', null,
    h('dl', { class: 'facts' },
      h('dt', null, t('ops.config_path')), h('dd', null, h('code', null, c.path)),
      h('dt', null, t('ops.loaded_at')), h('dd', null, dateTime(c.loaded_at)),
      h('dt', null, t('ops.last_reload')), h('dd', null, lr
        ? [dateTime(lr.at), ' ', lr.ok ? badge(t('ops.reload_ok'), 'ok') : badge(t('ops.reload_failed'), 'bad')]
        : t('ops.never_reloaded'))),
    lr && !lr.ok ? h('div', null,
      h('p', { class: 'alert alert-warn' }, t('ops.reload_kept')),
      h('ul', { class: 'error-lines' }, lr.errors.map((e) =>
        h('li', null, h('code', null, `${e.file}:${e.line}:${e.column}`), ' ', e.message)))) : null);
}

export async function render(root) {
  const [o, users, audit] = await Promise.all([
    api.get('/ops'),
    api.get('/users').catch((e) => ({ error: e })),
    api.get('/audit', { limit: AUDIT_PAGE }).catch((e) => ({ error: e })),
  ]);
  replace(root,
    pageHeader(t('nav.ops')),
    section(t('ops.outbox'), outbox(o.outbox_failed)),
    h('div', { class: 'grid-2' },
      section(t('ops.quarantine'), quarantine(o.quarantine)),
      section(t('ops.config'), config(o.config))),
    section(t('ops.richmenus'), richMenus(o.richmenus)),
    section(t('ops.users'), users.error ? errorBox(users.error) : accounts(users.items)),
    section(t('ops.audit'), audit.error ? errorBox(audit.error) : auditLog(audit)));
}
