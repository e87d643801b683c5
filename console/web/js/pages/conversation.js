// conversation.js (#/conversations/<channel>/<user_id>): one customer's chat as a thread,
// newest at the bottom: what they wrote (a sticker or a photo as a note), what the bot
// and people answered (text, buttons and the invite drawn as LINE shows them), and
// whether each was delivered. People who act answer here (a push under their name),
// mark the wait resolved; opening the page tells the server a person has seen it.
import { h, replace, append } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { dateTime, duration } from '../format.js';
import { can } from '../session.js';
import * as router from '../router.js';
import { pageHeader, section, errorBox, toast, badge, notice } from '../ui.js';
import { notifiedText, handoffBadge } from './conversations.js';

function path(params) {
  return '/conversations/' + encodeURIComponent(params.channel) + '/' + encodeURIComponent(params.user);
}

const SHARE = 'https://line.me/R/share?text=';

// The invite a customer forwards rides in the share button's link: shown as they send it.
function sharedText(actions) {
  const a = (actions || []).find((x) => x.type === 'uri' && typeof x.uri === 'string' && x.uri.startsWith(SHARE));
  if (!a) return null;
  try {
    return h('div', { class: 'bubble-invite' }, h('div', { class: 'small muted' }, t('conversation.invite_text')),
      decodeURIComponent(a.uri.slice(SHARE.length)));
  } catch (e) {
    return null;
  }
}

// A LINE message object as a person reads it.
function lineMessage(m) {
  if (m.type === 'text') return h('div', { class: 'bubble-text' }, m.text);
  if (m.type === 'sticker') return h('div', { class: 'bubble-note' }, t('conversation.sticker'));
  if (m.type === 'image') return h('div', { class: 'bubble-note' }, t('conversation.image'));
  if (m.type === 'template' && m.template) {
    const tp = m.template;
    const actions = (tp.actions || []).map((a) => h('div', { class: 'bubble-button' }, a.label || ''));
    if (tp.type === 'carousel') {
      return h('div', { class: 'bubble-card' }, h('div', { class: 'bubble-alt' }, m.altText || ''));
    }
    return h('div', { class: 'bubble-card' },
      tp.title ? h('div', { class: 'bubble-title' }, tp.title) : null,
      tp.text ? h('div', { class: 'bubble-text' }, tp.text) : null, actions, sharedText(tp.actions));
  }
  if (m.type === 'flex') return h('div', { class: 'bubble-card' }, h('div', { class: 'bubble-alt' }, m.altText || ''));
  return h('div', { class: 'bubble-note' }, tOr('conversation.kind_' + m.type, m.type));
}

function inbound(m) {
  if (m.kind === 'text') return m.text === null ? h('div', { class: 'bubble-note' }, t('conversation.text_deleted'))
    : h('div', { class: 'bubble-text' }, m.text);
  if (m.kind === 'postback') return h('div', { class: 'bubble-note' }, t('conversation.tapped', { action: m.text || '?' }));
  const meta = m.meta || {};
  const extra = meta.fileName || meta.title || meta.address || '';
  return h('div', { class: 'bubble-note' }, tOr('conversation.kind_' + m.kind, m.kind), extra ? ' ' + extra : '');
}

function who(m) {
  if (m.direction === 'in') return null;
  if (m.kind === 'announcement') return t('conversation.announcement', { title: m.text || '' });
  if (!m.author) return t('conversation.bot');
  return t('conversation.person', { name: m.author_name || m.author.replace(/^operator:/, '') });
}

function messageRow(m) {
  if (m.kind === 'follow' || m.kind === 'unfollow') {
    return h('li', { class: 'chat-event' }, t('conversation.' + m.kind), ' ', h('time', null, dateTime(m.at)));
  }
  const out = m.direction === 'out';
  const body = out ? (m.messages ? m.messages.map(lineMessage)
    : h('div', { class: 'bubble-note' }, t('conversation.text_deleted'))) : inbound(m);
  const failed = out && (m.send_state === 'failed' || m.send_state === 'unknown');
  // Only the log's own rows page the thread (an announcement is not one: id 0).
  return h('li', { class: ['chat-row', out ? 'chat-out' : 'chat-in', out && m.author && 'chat-person'],
    dataset: m.id ? { id: m.id } : null },
    h('div', { class: 'bubble' }, body),
    h('div', { class: 'chat-meta' }, who(m), ' ', h('time', null, dateTime(m.at)),
      out && (m.send_state === 'pending' || m.send_state === 'sending') ? [' ', badge(t('conversation.sending'), 'info')] : null,
      failed ? [' ', badge(t('conversation.not_delivered'), 'bad')] : null,
      !out && m.read_at ? [' ', t('conversation.read')] : null));
}

function handoffPanel(d, onResolve) {
  const x = d.handoff;
  if (!x || x.state !== 'open') {
    return x ? h('p', { class: 'muted handoff-last' }, t('handoff.last_closed', {
      state: t('handoff.state_' + x.state), at: dateTime(x.resolved_at), took: duration(x.waited_s) })) : null;
  }
  return h('div', { class: 'handoff-bar' + (x.escalated_at ? ' handoff-late' : '') },
    h('div', null, handoffBadge(x), ' ',
      h('strong', null, t('handoff.waiting_for', { d: duration(x.waited_s) })),
      h('div', { class: 'small muted' }, t('handoff.told', { who: notifiedText(x.notified), at: dateTime(x.opened_at) }),
        ' ', t('handoff.quiet_until', { at: dateTime(x.quiet_until) }))),
    can('act') ? h('button', { type: 'button', class: 'btn', dataset: { resolve: '' }, onclick: onResolve },
      t('handoff.resolve')) : null);
}

export async function render(root, { params }) {
  const base = path(params);
  let d = await api.get(base);
  if (can('act') && d.messages.some((m) => m.direction === 'in')) {
    try { d = await api.post(base + '/seen', {}); } catch (e) { if (e.status === 401) throw e; }
  }
  const msg = h('div');
  const list = h('ol', { class: 'chat', 'aria-label': t('conversation.thread') });
  const head = h('div');
  let older = d.more;

  function draw() {
    replace(head, handoffPanel(d, resolve));
  }
  async function resolve() {
    try {
      d = await api.post(base + '/resolve', {});
      toast(t('handoff.resolved'));
      draw();
    } catch (e) {
      if (e.status === 401) throw e;
      replace(msg, errorBox(e, 'common.kept_nothing_changed'));
    }
  }
  const moreBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-small', hidden: !older,
    onclick: async () => {
      const first = list.querySelector('li[data-id]');
      const page = await api.get(base, { before: first ? first.dataset.id : undefined });
      list.prepend(...page.messages.map(messageRow));
      older = page.more;
      moreBtn.hidden = !older;
    } }, t('conversation.older'));
  append(list, d.messages.map(messageRow));

  let composer = null;
  if (d.line_chat) {
    composer = notice(t('conversation.line_chat'), 'info');
  } else if (d.can_reply) {
    const box = h('textarea', { name: 'text', rows: 3, maxlength: 5000, required: true,
      placeholder: t('conversation.reply_placeholder'), 'aria-label': t('conversation.reply') });
    const send = h('button', { type: 'submit', class: 'btn btn-primary' }, t('conversation.send'));
    composer = h('form', { class: 'composer', onsubmit: async (e) => {
      e.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      send.disabled = true;
      try {
        d = await api.post(base + '/messages', { text });
        box.value = '';
        replace(msg);
        const last = d.messages[d.messages.length - 1];
        if (last) list.appendChild(messageRow(last));
        draw();
        list.lastChild && list.lastChild.scrollIntoView({ block: 'nearest' });
        toast(t('conversation.sent'));
      } catch (err) {
        if (err.status === 401) throw err;
        replace(msg, errorBox(err, 'conversation.reply_kept'));
      } finally {
        send.disabled = false;
      }
    } }, box, h('div', { class: 'composer-actions' },
      h('span', { class: 'small muted' }, t('conversation.reply_hint')), send));
  }
  draw();
  replace(root,
    h('p', { class: 'crumbs' }, h('a', { href: router.href('/conversations') }, t('nav.conversations')), ' / '),
    pageHeader(d.person.name, h('a', { class: 'btn btn-ghost', href: router.href('/customers/' +
      encodeURIComponent(d.person.channel) + '/' + encodeURIComponent(d.person.user_id)) }, t('conversation.customer_page'))),
    h('p', { class: 'muted small' }, t('conversation.facts', {
      rep: d.rep ? d.rep.name : t('common.unassigned'), branch: d.branch ? d.branch.name : t('common.none') })),
    head, msg,
    section(null, moreBtn, d.messages.length ? list : h('div', { class: 'empty' }, t('conversation.empty')), composer));
  const last = list.lastChild;
  if (last) last.scrollIntoView({ block: 'nearest' });
}
