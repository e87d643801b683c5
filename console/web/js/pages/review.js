// review.js (#/review): claims held by the review rules, oldest first, with the reason,
// the deadline and what happens when nobody decides; approve or reject with a note.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime, num, shortDateTime } from '../format.js';
import { can } from '../session.js';
import * as router from '../router.js';
import { filterBar } from '../filters.js';
import { pageHeader, table, personLink, refLink, csvLink, empty, errorBox, toast, askNote, badge, notice, section } from '../ui.js';

// Decides ids one by one (the API decides one claim per request) and reports each.
async function decide(ids, decision, note) {
  const failures = [];
  for (const id of ids) {
    try {
      await api.post('/review/' + id, { decision, note: note || undefined });
    } catch (e) {
      if (e.status === 401) throw e;
      failures.push({ id, err: e });
    }
  }
  return failures;
}

// Names friends typed when asked who referred them that matched no customer, or
// several (GET /review/typed): an admin gives the referrer's code or dismisses the name.
// A failure to read them leaves the held claims above on the page.
async function typedSection(q) {
  let d;
  try {
    d = await api.get('/review/typed');
  } catch (e) {
    if (e.status === 401) throw e;
    return null;
  }
  if (!d.items || !d.items.length) return null;
  const msg = h('div');
  async function decide(x, body) {
    try {
      await api.post('/review/typed/' + encodeURIComponent(x.channel) + '/' + encodeURIComponent(x.user_id), body);
      toast(t('review.typed_done'));
      router.go('/review', q);
    } catch (e) {
      if (e.status === 401) throw e;
      replace(msg, errorBox(e, null));
    }
  }
  const cols = [
    { key: 'friend', label: t('review.typed_friend'), render: (x) => x.display_name || x.user_id },
    { key: 'typed', label: t('review.typed_name'), render: (x) => x.typed },
    { key: 'matches', label: t('review.typed_matches'), render: (x) => num(x.matches) },
    { key: 'typed_at', label: t('review.typed_at'), render: (x) => dateTime(x.typed_at) },
  ];
  if (can('admin')) {
    cols.push({ key: 'act', label: t('col.actions'), render: (x) => h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
        const code = await askNote({ title: t('review.typed_assign'), body: t('review.typed_assign_body'),
          okLabel: t('review.typed_assign'), required: true });
        if (code) await decide(x, { code });
      } }, t('review.typed_assign')),
      h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', onclick: async () => {
        const ok = await askNote({ title: t('review.typed_dismiss'), body: t('review.typed_dismiss_body'),
          okLabel: t('review.typed_dismiss'), danger: true });
        if (ok !== null) await decide(x, { decision: 'dismiss' });
      } }, t('review.typed_dismiss'))) });
  }
  return section(t('review.typed_title'), h('p', { class: 'muted' }, t('review.typed_lead')), msg,
    table(cols, d.items));
}

export async function render(root, { query }) {
  const q = Object.fromEntries(query.entries());
  const params = { campaign: q.campaign, branch: q.branch };
  const d = await api.get('/review', params);
  const typed = await typedSection(q);
  const now = Date.now();
  const selected = new Set();
  const msg = h('div');
  const count = h('span', { class: 'bulk-count' });
  const act = can('act');

  async function run(ids, decision) {
    const label = t('review.' + decision);
    const note = await askNote({
      title: t('review.confirm_title', { label, n: num(ids.length) }),
      body: t('review.confirm_body_' + decision), okLabel: label, danger: decision === 'reject' });
    if (note === null) return;
    const failures = await decide(ids, decision, note);
    if (!failures.length) {
      toast(t('review.done', { label, n: num(ids.length) }));
      router.go('/review', q);
      return;
    }
    replace(msg, failures.map((f) => errorBox(f.err, null)).slice(0, 1),
      notice(t('review.partial', { ok: num(ids.length - failures.length), ng: num(failures.length),
        ids: failures.map((f) => '#' + f.id).join(', ') }), 'warn'));
  }
  const bulkButtons = [
    h('button', { type: 'button', class: 'btn btn-primary', dataset: { bulk: 'approve' },
      onclick: () => selected.size && run([...selected], 'approve') }, t('review.approve_selected')),
    h('button', { type: 'button', class: 'btn btn-danger-ghost', dataset: { bulk: 'reject' },
      onclick: () => selected.size && run([...selected], 'reject') }, t('review.reject_selected')),
  ];
  const refresh = () => {
    replace(count, t('common.selected', { n: num(selected.size) }));
    bulkButtons.forEach((b) => { b.disabled = selected.size === 0; });
  };
  refresh();

  const cols = [
    { key: 'id', label: t('col.referral'), render: (x) => h('label', { class: 'check-cell' },
      act ? h('input', { type: 'checkbox', class: 'row-check', dataset: { id: x.referral.id },
        'aria-label': t('review.select_one', { id: x.referral.id }),
        onchange: (e) => { if (e.target.checked) selected.add(x.referral.id); else selected.delete(x.referral.id); refresh(); } }) : null,
      refLink(x.referral.id)) },
    { key: 'reason', label: t('col.reason'), render: (x) => tOr('reason.' + x.reason, x.reason) },
    { key: 'code', label: t('col.code'), render: (x) => h('code', null, x.referral.code) },
    { key: 'referrer', label: t('col.referrer'), render: (x) => personLink(x.referral.referrer) },
    { key: 'referee', label: t('col.referee'), render: (x) => personLink(x.referral.referee) },
    // Without the year within this year: the row then fits a 1280 px screen whole.
    { key: 'held_at', label: t('col.held_at'), render: (x) => shortDateTime(x.held_at, now) },
    { key: 'deadline', label: t('col.deadline'), render: (x) => x.deadline === null ? t('review.no_deadline')
      : [shortDateTime(x.deadline, now), x.deadline < now ? [' ', badge(t('review.overdue'), 'bad')] : null] },
    { key: 'default', label: t('col.default_outcome'), render: (x) => t('review.default_' + x.default_outcome) },
  ];
  if (act) {
    cols.push({ key: 'act', label: t('col.actions'), render: (x) => h('div', { class: 'row-actions' },
      h('button', { type: 'button', class: 'btn btn-small', dataset: { approve: x.referral.id },
        onclick: () => run([x.referral.id], 'approve') }, t('review.approve')),
      h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', dataset: { reject: x.referral.id },
        onclick: () => run([x.referral.id], 'reject') }, t('review.reject'))) });
  }

  replace(root,
    pageHeader(t('nav.review'), csvLink('/review', params)),
    h('p', { class: 'muted' }, t('review.lead')),
    filterBar(query, ['campaign', 'branch'], (next) => router.go('/review', next)),
    msg,
    d.items.length && act ? h('div', { class: 'bulk-bar' }, count, bulkButtons) : null,
    // A phone shows each held claim as a card: who, the deadline and what happens after
    // it are what a manager decides by, and a sideways strip showed only the reason.
    d.items.length ? table(cols, d.items, { stack: true,
      rowClass: (x) => (x.deadline !== null && x.deadline < now ? 'row-warn' : null) })
      : empty('review.empty'),
    typed);
}
