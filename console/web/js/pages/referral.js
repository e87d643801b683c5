// referral.js (#/referrals/<id>): one referral - who, where it stands, its timeline with
// who acted, the moves the state machine allows now, notes and rewards.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime } from '../format.js';
import { session, can, campaignName } from '../session.js';
import * as router from '../router.js';
import { pageHeader, section, personLink, stateBadge, errorBox, toast, askNote, empty } from '../ui.js';
import { rewardTable } from './reward-table.js';

// The customer (referrer) and the friend (referee) act under their own names, which the
// events leave out because the referral already carries them. A click is anyone who
// held the link (the code's other friends too): it carries no name.
function actor(ev, r) {
  const a = ev.actor;
  if (ev.type === 'clicked') return t('actor.visitor');
  const kind = t('actor.' + a.kind);
  const name = a.name || (a.kind === 'customer' ? r.referrer.name : a.kind === 'friend' ? r.referee.name : null);
  return name && a.kind !== 'system' ? kind + ' ' + name : kind;
}

function eventText(ev) {
  const what = tOr('event.' + ev.type, ev.type);
  if (!ev.reason) return what;
  // A reward event's reason is "state:side" (pending:referrer).
  const rw = /^([a-z]+):(referrer|referee)$/.exec(ev.reason);
  if (ev.type === 'reward' && rw) {
    return what + ': ' + t('referral.reward_event', { side: t('side.' + rw[2]),
      state: tOr('reward_state.' + rw[1], rw[1]) });
  }
  const st = session.meta.states.find((s) => s.id === ev.reason);
  return what + ': ' + (st ? st.label : tOr('reason.' + ev.reason, ev.reason));
}

function timeline(events, r) {
  if (!events.length) return empty('referral.no_events');
  return h('ol', { class: 'timeline' }, events.map((ev) =>
    h('li', { class: 'tl-item tl-' + ev.type },
      h('div', { class: 'tl-when' }, dateTime(ev.at)),
      h('div', { class: 'tl-what' }, eventText(ev)),
      h('div', { class: 'tl-who muted' }, actor(ev, r)))));
}

function facts(r) {
  const row = (label, value) => [h('dt', null, label), h('dd', null, value)];
  return h('dl', { class: 'facts' },
    row(t('col.referrer'), personLink(r.referrer)),
    row(t('col.referee'), personLink(r.referee)),
    row(t('col.code'), h('code', null, r.code)),
    row(t('col.campaign'), campaignName(r.campaign)),
    row(t('col.rep'), r.rep ? r.rep.name : t('common.unassigned')),
    row(t('col.branch'), r.branch ? r.branch.name : t('common.none')),
    row(t('col.claimed_at'), dateTime(r.claimed_at)),
    row(t('col.updated_at'), dateTime(r.updated_at)));
}

function draw(root, d) {
  const r = d.referral;
  const msg = h('div');
  const redraw = (next) => draw(root, next);
  // A held claim's two ways out are the review's decision, said as on 審査 (承認 / 却下)
  // and recorded as one; any other move by its state's label.
  const decision = r.state === 'held' ? { claimed: 'approve', rejected: 'reject' } : {};
  const moves = can('act') && d.moves.length ? section(t('referral.moves'),
    h('p', { class: 'muted small' }, t('referral.moves_hint')),
    h('div', { class: 'move-buttons' }, d.moves.map((m) => {
      const decide = decision[m.to];
      const label = decide ? t('review.' + decide) : m.label;
      const kind = m.to === 'won' || decide === 'approve' ? 'btn-primary'
        : (m.to === 'lost' || m.to === 'suspicious' || decide === 'reject') ? 'btn-danger-ghost' : '';
      return h('button', { type: 'button', class: ['btn', kind], dataset: { move: m.to }, onclick: async () => {
        const note = await askNote({ title: decide ? t('review.confirm_title', { n: 1, label }) : t('referral.move_title', { label }),
          body: decide ? t('review.confirm_body_' + decide) : t('referral.move_body', { id: r.id }), okLabel: label });
        if (note === null) return;
        try {
          const next = decide ? await api.post('/review/' + r.id, { decision: decide, note: note || undefined })
            : await api.post('/referrals/' + r.id + '/state', { to: m.to, note: note || undefined });
          toast(decide ? t('review.done', { n: 1, label }) : t('referral.moved', { label }));
          redraw(next);
        } catch (e) {
          replace(msg, errorBox(e, e.status === 409 ? 'referral.kept_conflict' : 'common.kept_nothing_changed'));
        }
      } }, label);
    })), msg) : null;

  const noteText = h('textarea', { name: 'note', rows: 3, maxlength: 1000, placeholder: t('referral.note_placeholder') });
  const noteMsg = h('div');
  const notes = h('ul', { class: 'notes' }, d.notes.map((n) => noteItem(n)));
  const noteForm = can('act') ? h('form', { class: 'note-form', onsubmit: async (e) => {
    e.preventDefault();
    const text = noteText.value.trim();
    if (!text) return;
    try {
      const n = await api.post('/referrals/' + r.id + '/notes', { text });
      notes.prepend(noteItem(n));
      noteText.value = '';
      replace(noteMsg);
      toast(t('referral.note_added'));
    } catch (err) {
      replace(noteMsg, errorBox(err, 'referral.kept_note'));
    }
  } }, noteText, h('button', { type: 'submit', class: 'btn' }, t('referral.add_note'))) : null;

  replace(root,
    h('p', { class: 'crumbs' }, h('a', { href: router.href('/referrals') }, t('nav.referrals')), ' / '),
    pageHeader(t('referral.title', { id: r.id }), stateBadge(r.state, r.state_label)),
    h('div', { class: 'grid-2' },
      section(t('referral.facts'), facts(r)),
      moves || section(t('referral.moves'), empty(can('act') ? 'referral.no_moves' : 'referral.read_only'))),
    h('div', { class: 'grid-2' },
      section(t('referral.timeline'), timeline(d.events, r)),
      section(t('referral.notes'), noteForm, d.notes.length || noteForm ? null : empty('referral.no_notes'), noteMsg, notes)),
    section(t('referral.rewards'), d.rewards.length ? rewardTable(d.rewards) : empty('referral.no_rewards')));
}

function noteItem(n) {
  return h('li', { class: 'note' },
    h('div', { class: 'note-head muted small' }, dateTime(n.at), ' ', n.author),
    h('div', { class: 'note-text' }, n.text));
}

export async function render(root, { params }) {
  const id = Number(params.id);
  if (!Number.isInteger(id) || id < 1) throw { code: 'not_found' };
  draw(root, await api.get('/referrals/' + id));
}
