// announcements.js (#/announcements, #/announcements/:id): お知らせ. Choose a message the
// config offers and a segment, see how many it reaches, push a test to yourself, send now
// or at a time; the sends below with their progress; one send's results (delivered,
// failed, and what its recipients did within 14 days). LINE's quota is read by the daemon
// before a send starts: a refusal shows here with the numbers.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { dateTime, num } from '../format.js';
import { session, can } from '../session.js';
import * as router from '../router.js';
import { pageHeader, section, table, empty, errorBox, toast, notice, badge, field } from '../ui.js';

const STATE_KIND = { scheduled: 'info', sending: 'warn', sent: 'ok', refused: 'bad', canceled: null };
const TEST_KEY = 'shokai-announce-test-to';
const POLL_MS = 3000;

function stateBadge(s) {
  return badge(t('announce.state_' + s), STATE_KIND[s]);
}

// "branch:shinjuku" -> 支店: 新宿支店
export function segmentLabel(seg) {
  const i = seg.indexOf(':');
  const kind = i < 0 ? seg : seg.slice(0, i);
  const arg = i < 0 ? '' : seg.slice(i + 1);
  const meta = session.meta || { branches: [], reps: [] };
  let name = arg;
  if (kind === 'branch') name = (meta.branches.find((b) => b.code === arg) || {}).name || arg;
  if (kind === 'rep') name = (meta.reps.find((r) => r.code === arg) || {}).name || arg;
  return arg ? t('announce.seg_' + kind, { name }) : t('announce.seg_' + kind);
}

// The texts of LINE message objects, for the preview of what customers read.
function messageTexts(messages) {
  return (messages || []).map((m) => m.type === 'text' ? m.text
    : m.altText ? m.altText : t('announce.non_text', { type: m.type }));
}

function confirmDialog(title, body, okLabel) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    dlg.append(h('h2', null, title), h('p', null, body),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => done(false) }, t('common.cancel')),
        h('button', { type: 'button', class: 'btn btn-primary', dataset: { confirm: 'send' },
          onclick: () => done(true) }, okLabel)));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

// The segments a caller may choose for an announcement: a manager only their branches
// and those branches' reps (the server refuses anything else).
function segmentKinds(ann) {
  const manager = session.user.role === 'manager';
  return ann.segments.filter((k) => !manager || k === 'branch' || k === 'rep');
}

function composer(d, onSent) {
  const act = can('act');
  const out = h('div', { class: 'announce-result', 'aria-live': 'polite' });
  const textBox = h('div', { class: 'announce-text' });
  const annSel = h('select', { name: 'announcement' },
    d.configured.map((a) => h('option', { value: a.id }, a.title)));
  const kindSel = h('select', { name: 'segment_kind' });
  const argBox = h('span', { class: 'announce-arg' });
  let argCtl = null;
  const testTo = h('input', { type: 'text', name: 'test_to', inputmode: 'latin', autocomplete: 'off',
    spellcheck: 'false', placeholder: 'U0123…', value: localStorage.getItem(TEST_KEY) || '' });
  const whenNow = h('input', { type: 'radio', name: 'when', value: 'now', checked: true });
  const whenAt = h('input', { type: 'radio', name: 'when', value: 'at' });
  const at = h('input', { type: 'datetime-local', name: 'at' });
  const ann = () => d.configured.find((a) => a.id === annSel.value);

  function drawArg() {
    const k = kindSel.value;
    const meta = session.meta;
    if (k === 'branch') {
      argCtl = h('select', { name: 'segment_arg' }, meta.branches.map((b) => h('option', { value: b.code }, b.name)));
    } else if (k === 'rep') {
      argCtl = h('select', { name: 'segment_arg' }, meta.reps.map((r) => h('option', { value: r.code }, r.name)));
    } else if (k === 'tag') {
      argCtl = h('input', { type: 'text', name: 'segment_arg', placeholder: 'partner', autocomplete: 'off' });
    } else argCtl = null;
    replace(argBox, argCtl ? field(t('announce.segment_' + k + '_arg'), argCtl) : null);
    replace(out);
  }
  function drawAnn() {
    const a = ann();
    const kinds = segmentKinds(a);
    replace(kindSel, kinds.map((k) => h('option', { value: k }, t('announce.kind_' + k))));
    kindSel.disabled = !kinds.length;
    replace(textBox, h('div', { class: 'field-label' }, t('announce.message_preview')),
      messageTexts(a.messages).map((x) => h('p', { class: 'announce-bubble' }, x)));
    drawArg();
  }
  annSel.addEventListener('change', drawAnn);
  kindSel.addEventListener('change', drawArg);
  drawAnn();

  const segment = () => {
    const k = kindSel.value;
    return argCtl ? k + ':' + argCtl.value.trim() : k;
  };
  async function preview() {
    if (!kindSel.value) { replace(out, notice(t('announce.no_segment_for_you'), 'warn')); return null; }
    try {
      const p = await api.post('/announcements/preview', { announcement: annSel.value, segment: segment() });
      replace(out, h('div', { class: 'cards announce-cards announce-counts' },
        countCard('announce.recipients', p.recipients),
        countCard('announce.blocked', p.blocked, 'announce.blocked_sub'),
        countCard('announce.chunks', p.chunks, 'announce.chunks_sub')));
      return p;
    } catch (e) {
      replace(out, errorBox(e));
      return null;
    }
  }
  async function test() {
    const to = testTo.value.trim();
    localStorage.setItem(TEST_KEY, to);
    try {
      await api.post('/announcements/test', { announcement: annSel.value, to });
      toast(t('announce.test_done'));
    } catch (e) {
      replace(out, errorBox(e));
    }
  }
  async function send() {
    const p = await preview();
    if (!p) return;
    const when = whenAt.checked ? at.value : null;
    if (whenAt.checked && !when) { replace(out, notice(t('announce.need_time'), 'warn')); return; }
    const ok = await confirmDialog(t('announce.confirm_title'),
      t(when ? 'announce.confirm_at' : 'announce.confirm_now', { n: num(p.recipients),
        title: ann().title, segment: segmentLabel(p.segment), at: when ? when.replace('T', ' ') : '' }),
      t(when ? 'announce.schedule' : 'announce.send_now'));
    if (!ok) return;
    try {
      const r = await api.post('/announcements', { announcement: annSel.value, segment: segment(), at: when });
      toast(t('announce.scheduled'));
      onSent(r.id);
    } catch (e) {
      replace(out, errorBox(e, 'common.kept_nothing_changed'));
    }
  }
  return section(t('announce.compose'),
    h('div', { class: 'announce-form' },
      field(t('announce.announcement'), annSel),
      textBox,
      h('div', { class: 'announce-segment' }, field(t('announce.segment'), kindSel), argBox),
      h('div', { class: 'row-actions' },
        h('button', { type: 'button', class: 'btn', dataset: { act: 'preview' }, onclick: preview }, t('announce.preview'))),
      out,
      act ? [
        h('div', { class: 'announce-test' }, field(t('announce.test_to'), testTo),
          h('button', { type: 'button', class: 'btn btn-ghost', dataset: { act: 'test' }, onclick: test }, t('announce.test'))),
        h('fieldset', { class: 'announce-when' }, h('legend', { class: 'field-label' }, t('announce.when')),
          h('label', null, whenNow, ' ', t('announce.now')),
          h('label', null, whenAt, ' ', t('announce.at'), ' ', at)),
        h('p', { class: 'muted small' }, t('announce.quota_note')),
        h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'btn btn-primary', dataset: { act: 'send' }, onclick: send }, t('announce.send'))),
      ] : h('p', { class: 'muted' }, t('announce.read_only'))));
}

function countCard(key, n, subKey) {
  return h('div', { class: 'card' },
    h('div', { class: 'card-label' }, t(key)),
    h('div', { class: 'card-value' }, num(n)),
    subKey ? h('div', { class: 'card-sub' }, t(subKey)) : null);
}

function sendsTable(items) {
  const cols = [
    { key: 'id', label: '#', render: (x) => h('a', { href: router.href('/announcements/' + x.id) }, '#' + x.id) },
    { key: 'title', label: t('announce.col_title'), render: (x) => h('a', { href: router.href('/announcements/' + x.id) }, x.title) },
    // The state before the rest: on a phone it is what shows without scrolling sideways.
    { key: 'state', label: t('announce.col_state'), render: (x) => stateBadge(x.state) },
    { key: 'segment', label: t('announce.col_segment'), render: (x) => segmentLabel(x.segment) },
    { key: 'scheduled_at', label: t('announce.col_scheduled'), render: (x) => dateTime(x.scheduled_at) },
    { key: 'recipients', label: t('announce.col_recipients'), num: true, render: (x) => x.recipients === null ? '—' : num(x.recipients) },
    { key: 'blocked', label: t('announce.col_blocked'), num: true, render: (x) => x.blocked === null ? '—' : num(x.blocked) },
  ];
  return items.length ? table(cols, items) : empty('announce.empty');
}

// Why a send was refused, in words: the quota's numbers when it was the quota.
function refusal(x) {
  if (x.state !== 'refused') return null;
  if (x.quota_limit !== null && x.recipients !== null && x.recipients > x.quota_limit - x.quota_used) {
    return notice(t('announce.refused_quota', { left: num(Math.max(0, x.quota_limit - x.quota_used)),
      limit: num(x.quota_limit), used: num(x.quota_used), n: num(x.recipients) }), 'error');
  }
  return notice(t('announce.refused_other', { reason: x.reason || '' }), 'error');
}

async function renderList(root) {
  const d = await api.get('/announcements');
  replace(root,
    pageHeader(t('nav.announcements')),
    h('p', { class: 'muted' }, t('announce.lead')),
    d.configured.length ? composer(d, (id) => router.go('/announcements/' + id)) : notice(t('announce.none_configured'), 'info'),
    section(t('announce.sends'), sendsTable(d.items)));
}

async function renderOne(root, id) {
  let timer = null;
  async function draw() {
    const x = await api.get('/announcements/' + id);
    const r = x.results;
    const facts = [
      ['announce.col_state', stateBadge(x.state)],
      ['announce.col_segment', segmentLabel(x.segment)],
      ['announce.col_scheduled', dateTime(x.scheduled_at)],
      ['announce.started', x.started_at ? dateTime(x.started_at) : '—'],
      ['announce.finished', x.finished_at ? dateTime(x.finished_at) : '—'],
      ['announce.created_by', x.created_by],
    ];
    replace(root,
      h('div', { class: 'crumbs' }, h('a', { href: router.href('/announcements') }, t('nav.announcements')), ' / #' + x.id),
      pageHeader(x.title,
        x.state === 'scheduled' && can('act') ? h('button', { type: 'button', class: 'btn btn-danger-ghost',
          dataset: { act: 'cancel' }, onclick: cancel }, t('announce.cancel')) : null),
      refusal(x),
      h('dl', { class: 'facts announce-facts' }, facts.map(([k, v]) => [h('dt', null, t(k)), h('dd', null, v)])),
      section(t('announce.progress'), h('div', { class: 'cards announce-cards' },
        countCard('announce.recipients', x.recipients === null ? 0 : x.recipients),
        countCard('announce.blocked', x.blocked === null ? 0 : x.blocked, 'announce.blocked_sub'),
        r ? [countCard('announce.delivered', r.delivered), countCard('announce.failed', r.failed),
          countCard('announce.pending', r.pending)] : null)),
      r ? section(t('announce.followed', { until: dateTime(r.follow_until) }), h('div', { class: 'cards announce-cards' },
        countCard('announce.invites', r.invites), countCard('announce.clicks', r.clicks),
        countCard('announce.claims', r.claims))) : null);
    // While it waits or goes out, the numbers move: look again.
    if ((x.state === 'scheduled' || x.state === 'sending') && root.isConnected) {
      timer = setTimeout(() => draw().catch((e) => replace(root, errorBox(e))), POLL_MS);
    }
  }
  async function cancel() {
    const ok = await confirmDialog(t('announce.cancel_title'), t('announce.cancel_body'), t('announce.cancel'));
    if (!ok) return;
    try {
      await api.post('/announcements/' + id + '/cancel', {});
      toast(t('announce.canceled'));
    } catch (e) {
      toast(t('error.' + (e.code || 'unknown')), 'warn');
    }
    clearTimeout(timer);
    await draw();
  }
  await draw();
  return () => clearTimeout(timer);
}

export async function render(root, { params }) {
  if (params.id) return renderOne(root, params.id);
  return renderList(root);
}
