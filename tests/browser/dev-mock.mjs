#!/usr/bin/env node
// dev-mock.mjs - A DEVELOPMENT AID ONLY. Never used by `make test` or CI.
//
// A throwaway stand-in for shokaid's console listener, written so the pages could be built
// before the C server existed: serves console/web/ at /admin/ and /admin/static/, and
// answers /admin/api/v1/* with canned data shaped by console/openapi.yaml, under the same
// Content-Security-Policy. In-memory state; restarts reset it.
//
//   node tests/browser/dev-mock.mjs --port 18510
//   logins: admin / manager / viewer, password demo-pass (manager: branch shibuya only)
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = join(top, 'console', 'web');
const args = process.argv.slice(2);
const PORT = Number(args[args.indexOf('--port') + 1]) || 18510;
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TZ = 'Asia/Tokyo';
const DAY = 86400000;

// ---- deterministic demo data ----------------------------------------------------------
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = (a) => a[Math.floor(rnd() * a.length)];
const todayStr = () => new Intl.DateTimeFormat('sv-SE', { timeZone: TZ }).format(new Date());
const NOW = Date.now();

const branches = [
  { code: 'shibuya', name: '渋谷店', monthly_target: 12 },
  { code: 'shinjuku', name: '新宿店', monthly_target: 8 },
  { code: 'yokohama', name: '横浜店', monthly_target: null },
];
const reps = [
  { code: 'r01', name: '佐藤 美咲', branch: 'shibuya' }, { code: 'r02', name: '鈴木 健太', branch: 'shibuya' },
  { code: 'r03', name: '高橋 翔', branch: 'shinjuku' }, { code: 'r04', name: '田中 陽菜', branch: 'shinjuku' },
  { code: 'r05', name: '伊藤 大輔', branch: 'yokohama' },
];
const states = [
  ['held', '保留'], ['claimed', '登録'], ['contacted', '対応中'], ['meeting', '面談'], ['won', '成約'],
  ['lost', '失注'], ['suspicious', '不正の疑い'], ['rejected', '却下'],
].map(([id, label]) => ({ id, label }));
const label = (s) => states.find((x) => x.id === s).label;
const campaigns = [{ id: 'spring', name: '春の紹介キャンペーン', starts: '2026-01-01', ends: '2026-12-31' }];
const users = {
  admin: { login: 'admin', name: '山本 運用', role: 'admin', branches: [], disabled: false, last_login_at: NOW - 3600000 },
  manager: { login: 'manager', name: '渋谷 店長', role: 'manager', branches: ['shibuya'], disabled: false, last_login_at: null },
  viewer: { login: 'viewer', name: '閲覧 太郎', role: 'viewer', branches: [], disabled: false, last_login_at: null },
};
const family = ['佐々木', '山田', '中村', '小林', '加藤', '吉田', '山口', '松本', '井上', '木村', '林', '清水'];
const given = ['さくら', '悠真', '陽翔', '結衣', '蓮', '葵', '湊', '凛', '大和', '美月'];
const customers = [];
for (let i = 0; i < 48; i++) {
  const rep = pick(reps);
  const forgotten = i === 7;
  customers.push({
    person: { channel: 'line-main', user_id: 'U' + (1000 + i).toString(16).padStart(32, '0'),
      name: forgotten ? '削除済みユーザー#7a3f' : pick(family) + ' ' + pick(given), forgotten },
    code: 'SK' + (4000 + i * 37).toString(36).toUpperCase(),
    friend: i % 11 !== 5, followed_at: NOW - Math.floor(rnd() * 90) * DAY,
    unfollowed_at: i % 11 === 5 ? NOW - 3 * DAY : null,
    rep: { code: rep.code, name: rep.name }, branch: branchRef(rep.branch),
    rep_source: pick(['referrer', 'round_robin', 'operator']), referrals_made: 0,
  });
}
customers[3].person.name = '<script>alert(1)</script> テスト';
function branchRef(code) { const b = branches.find((x) => x.code === code); return b ? { code: b.code, name: b.name } : null; }

const referrals = [];
const flow = ['won', 'won', 'meeting', 'contacted', 'claimed', 'claimed', 'lost', 'held', 'held', 'held', 'won', 'contacted', 'suspicious', 'rejected'];
for (let i = 0; i < 42; i++) {
  const referrer = customers[i % 12];
  const referee = customers[12 + (i % 36)];
  const rep = reps.find((r) => r.code === referee.rep.code);
  const claimed = NOW - Math.floor(rnd() * 50) * DAY - Math.floor(rnd() * DAY);
  const state = flow[i % flow.length];
  referrer.referrals_made++;
  referrals.push({
    id: 100 + i, state, state_label: label(state), campaign: 'spring', code: referrer.code,
    referrer: referrer.person, partner: i % 9 === 0, referee: referee.person, rep: { code: rep.code, name: rep.name },
    branch: branchRef(rep.branch), claimed_at: claimed, updated_at: claimed + Math.floor(rnd() * 3) * DAY,
    _notes: [], _events: null,
  });
}
let rewardId = 500;
const rewards = [];
for (const r of referrals.filter((x) => x.state === 'won')) {
  for (const side of ['referrer', 'referee']) {
    const st = pick(['pending', 'pending', 'approved', 'issued', 'voided']);
    rewards.push({ id: rewardId++, referral_id: r.id, side, person: r[side], campaign: 'spring',
      pool: side === 'referrer' ? 'amazon-500' : 'quo-1000', state: st, due_at: r.updated_at,
      approve_after: r.updated_at + 7 * DAY, issued_at: st === 'issued' ? r.updated_at + 8 * DAY : null,
      note: st === 'voided' ? '重複申請のため' : null, branch: r.branch });
  }
}
const pools = [
  { pool: 'amazon-500', total: 200, used: 188, free: 12, low_stock: 20, low: true },
  { pool: 'quo-1000', total: 100, used: 9, free: 91, low_stock: 10, low: false },
];
let outbox = [
  { id: 9001, platform: 'line', channel: 'line-main', kind: 'push', state: 'failed', target: customers[4].person,
    attempts: 5, last_status: 400, last_error: 'The property, \'to\', in the request body is invalid', created_at: NOW - 2 * 3600000 },
  { id: 9002, platform: 'line', channel: 'line-main', kind: 'push', state: 'unknown', target: customers[9].person,
    attempts: 1, last_status: null, last_error: 'timeout after 10s', created_at: NOW - 26 * 3600000 },
];
const audit = [];
for (let i = 0; i < 60; i++) {
  audit.push({ id: 60 - i, at: NOW - i * 3600000, actor: pick(['admin', 'manager']),
    action: pick(['login', 'reward_approve', 'referral_state', 'review_reject']),
    target: pick(['referral 104', 'reward 503', null]), detail: null, client: '127.0.0.1' });
}

function events(r) {
  if (r._events) return r._events;
  const ev = [
    { at: r.claimed_at - 2 * DAY, type: 'issued', reason: null, actor: { kind: 'customer', name: r.referrer.name } },
    { at: r.claimed_at - DAY, type: 'clicked', reason: null, actor: { kind: 'friend', name: null } },
    { at: r.claimed_at, type: 'claimed', reason: null, actor: { kind: 'friend', name: r.referee.name } },
  ];
  if (r.state === 'held') ev.push({ at: r.claimed_at + 1000, type: 'held', reason: 'velocity', actor: { kind: 'system', name: null } });
  if (['contacted', 'meeting', 'won', 'lost'].includes(r.state)) {
    ev.push({ at: r.claimed_at + 3 * 3600000, type: 'state', reason: 'contacted', actor: { kind: 'rep', name: r.rep.name } });
  }
  if (r.state === 'won') ev.push({ at: r.updated_at, type: 'state', reason: 'won', actor: { kind: 'operator', name: '山本 運用' } });
  r._events = ev;
  return ev;
}
const MOVES = { claimed: ['contacted', 'lost', 'suspicious'], contacted: ['meeting', 'won', 'lost', 'suspicious'],
  meeting: ['won', 'lost', 'suspicious'], suspicious: ['claimed', 'rejected'] };

// ---- HTTP plumbing --------------------------------------------------------------------
const sessions = new Map();
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8' };
const base = { 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' };
const send = (res, code, body, type = 'application/json; charset=utf-8', extra = {}) => {
  res.writeHead(code, { ...base, 'Content-Type': type, ...extra });
  res.end(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
};
const err = (res, code, error, detail, extra) => send(res, code, { error, detail, ...extra });
const readBody = (req) => new Promise((ok) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => ok(Buffer.concat(c).toString('utf8'))); });
const csvCell = (v) => { let s = v === null || v === undefined ? '' : String(v); if (/^[=+\-@]/.test(s)) s = "'" + s; return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
const csv = (res, name, header, rows) => send(res, 200, '\ufeff' + [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n',
  'text/csv; charset=utf-8', { 'Content-Disposition': `attachment; filename="${name}.csv"` });

function scoped(user, branchCode) {
  if (user.role === 'manager') return (b) => b && user.branches.includes(b.code) && (!branchCode || b.code === branchCode);
  return (b) => !branchCode || (b && b.code === branchCode);
}
function inPeriod(ms, from, to) {
  const d = new Intl.DateTimeFormat('sv-SE', { timeZone: TZ }).format(new Date(ms));
  return (!from || d >= from) && (!to || d <= to);
}
function monthStart() { return todayStr().slice(0, 8) + '01'; }

function figures(list, mult) {
  const n = (s) => list.filter((r) => r.state === s).length;
  const claimed = list.filter((r) => !['held', 'rejected'].includes(r.state)).length;
  const won = n('won');
  const clicks = Math.round(claimed * 2.6 * mult) + 3;
  const issued = Math.round(clicks * 1.9);
  return {
    issued, referrers: Math.round(issued / 3), friends: 480, clicks, claimed, held: n('held'),
    held_overdue: Math.min(1, n('held')), rejected: n('rejected') + 2,
    rejected_by_reason: { self_referral: 1, existing_friend: n('rejected') + 1 },
    contacted: n('contacted'), meeting: n('meeting'), won, lost: n('lost'),
    rewards_issued: Math.round(won * 1.5), rewards_pending: won, rewards_approved: 1, rewards_voided: 0,
    referrer_rate: { num: Math.round(issued / 3), den: 480 }, click_rate: { num: clicks, den: issued },
    claim_rate: { num: claimed, den: clicks }, win_rate: { num: won, den: claimed },
    first_action_median_s: Math.round(5400 * mult + 1800), target: 20, target_rate: { num: won, den: 20 },
  };
}
function leader(list, key, rows) {
  return rows.map((x) => {
    const mine = list.filter((r) => (key === 'branch' ? r.branch.code : r.rep.code) === x.code);
    const claimed = mine.filter((r) => !['held', 'rejected'].includes(r.state)).length;
    const won = mine.filter((r) => r.state === 'won').length;
    const b = key === 'branch' ? x : null;
    return { code: x.code, name: x.name, branch: key === 'rep' ? x.branch : null, claimed, won,
      win_rate: { num: won, den: claimed }, open: mine.filter((r) => ['claimed', 'contacted', 'meeting'].includes(r.state)).length,
      first_action_median_s: claimed ? 3600 + Math.round(rnd() * 20000) : null,
      target: b ? b.monthly_target : null, target_rate: b && b.monthly_target ? { num: won, den: b.monthly_target } : null };
  });
}

async function api(req, res, path, q, user, sess) {
  const M = req.method;
  const okBranch = scoped(user, q.get('branch'));
  const seg = path.split('/').filter(Boolean);
  const needAct = () => { if (user.role === 'viewer') { err(res, 403, 'forbidden', 'read-only'); return false; } return true; };
  const needAdmin = () => { if (user.role !== 'admin') { err(res, 403, 'forbidden', 'admins only'); return false; } return true; };
  const refRow = (r) => [r.id, r.state_label, r.referrer.name, r.referee.name, r.rep && r.rep.name, r.branch && r.branch.name, r.campaign, new Date(r.claimed_at).toISOString()];
  const refHead = ['id', 'state', 'referrer', 'referee', 'rep', 'branch', 'campaign', 'claimed_at'];
  const detail = (r) => ({ referral: strip(r), events: events(r), moves: user.role === 'viewer' ? [] : (MOVES[r.state] || []).map((s) => ({ to: s, label: label(s) })),
    rewards: rewards.filter((w) => w.referral_id === r.id), notes: r._notes });

  if (path === '/meta' && M === 'GET') {
    const bs = branches.filter((b) => user.role !== 'manager' || user.branches.includes(b.code));
    return send(res, 200, { company_name: '株式会社サンプル住宅', timezone: TZ, today: todayStr(), user,
      campaigns, branches: bs, reps: reps.filter((r) => bs.some((b) => b.code === r.branch)), states,
      reward_states: ['pending', 'approved', 'issued', 'voided'], reasons: ['self_referral', 'already_referred', 'existing_friend', 'velocity'] });
  }
  if (path === '/dashboard' && M === 'GET') {
    const from = q.get('from') || monthStart(), to = q.get('to') || todayStr();
    const list = referrals.filter((r) => okBranch(r.branch) && inPeriod(r.claimed_at, from, to));
    const all = referrals.filter((r) => okBranch(r.branch));
    const points = [];
    for (let d = new Date(from + 'T00:00:00Z'); d.toISOString().slice(0, 10) <= to; d = new Date(d.getTime() + DAY)) {
      const ds = d.toISOString().slice(0, 10);
      const day = all.filter((r) => inPeriod(r.claimed_at, ds, ds));
      points.push({ date: ds, clicks: day.length * 3 + Math.round(rnd() * 4), claimed: day.length, won: day.filter((r) => r.state === 'won').length });
    }
    const f = figures(list, 1);
    const funnel = [['issued', f.issued], ['clicked', f.clicks], ['claimed', f.claimed], ['contacted', f.contacted + f.meeting + f.won + f.lost], ['won', f.won]]
      .map(([stage, count]) => ({ stage, count }));
    return send(res, 200, { from, to, previous_from: from, previous_to: to, figures: f, previous: figures(all.slice(0, Math.max(4, list.length - 5)), 0.8),
      trend: { unit: 'day', points }, funnel,
      branches: leader(list, 'branch', branches.filter((b) => okBranch(b))),
      reps: leader(list, 'rep', reps.filter((r) => okBranch(branchRef(r.branch)))),
      top_referrers: customers.slice(0, 5).map((c, i) => ({ person: c.person, claimed: 5 - i, won: Math.max(0, 3 - i) })) });
  }
  if (seg[0] === 'funnel' && M === 'GET') {
    const items = referrals.filter((r) => okBranch(r.branch)).slice(0, 9).map((r) => ({ person: r.referee, code: r.code, at: r.claimed_at, referral_id: r.id, rep: r.rep }));
    if (q.get('format') === 'csv') return csv(res, 'funnel', ['name', 'code', 'at'], items.map((x) => [x.person.name, x.code, x.at]));
    return send(res, 200, { stage: seg[1], items });
  }
  if (path === '/referrals' && M === 'GET') {
    let list = referrals.filter((r) => okBranch(r.branch) && (!q.get('state') || r.state === q.get('state')) &&
      (!q.get('rep') || r.rep.code === q.get('rep')) && inPeriod(r.claimed_at, q.get('from'), q.get('to')) &&
      (!q.get('q') || (r.referrer.name + r.referee.name + r.code).includes(q.get('q'))));
    list = list.sort((a, b) => b.claimed_at - a.claimed_at);
    if (q.get('format') === 'csv') return csv(res, 'referrals', refHead, list.map(refRow));
    const off = Number(q.get('offset')) || 0, lim = Number(q.get('limit')) || 100;
    return send(res, 200, { total: list.length, items: list.slice(off, off + lim).map(strip) });
  }
  if (seg[0] === 'referrals' && seg[1]) {
    const r = referrals.find((x) => x.id === Number(seg[1]));
    if (!r) return err(res, 404, 'not_found', 'no such referral');
    if (!scoped(user, null)(r.branch)) return err(res, 403, 'forbidden', 'other branch');
    if (M === 'GET' && seg.length === 2) return send(res, 200, detail(r));
    if (M === 'POST' && seg[2] === 'state') {
      if (!needAct()) return;
      const b = JSON.parse(await readBody(req) || '{}');
      if (!(MOVES[r.state] || []).includes(b.to)) return err(res, 409, 'bad_transition', `${r.state} -> ${b.to}`);
      r.state = b.to; r.state_label = label(b.to); r.updated_at = Date.now();
      events(r).push({ at: Date.now(), type: 'state', reason: b.to, actor: { kind: 'operator', name: user.name } });
      if (b.note) r._notes.unshift({ at: Date.now(), author: user.name, text: b.note });
      return send(res, 200, detail(r));
    }
    if (M === 'POST' && seg[2] === 'notes') {
      if (!needAct()) return;
      const b = JSON.parse(await readBody(req) || '{}');
      if (!b.text) return err(res, 400, 'bad_request', 'text');
      const n = { at: Date.now(), author: user.name, text: b.text };
      r._notes.unshift(n);
      return send(res, 201, n);
    }
  }
  if (path === '/review' && M === 'GET') {
    const items = referrals.filter((r) => okBranch(r.branch) && (r.state === 'held' || r.state === 'suspicious')).map((r, i) => ({
      referral: strip(r), reason: r.state === 'held' ? 'velocity' : 'suspicious', held_at: r.claimed_at,
      deadline: i === 2 ? null : r.claimed_at + 3 * DAY, default_outcome: i % 3 === 0 ? 'approve' : i % 3 === 1 ? 'reject' : 'none' }));
    if (q.get('format') === 'csv') return csv(res, 'review', ['id', 'reason', 'referrer', 'referee'], items.map((x) => [x.referral.id, x.reason, x.referral.referrer.name, x.referral.referee.name]));
    return send(res, 200, { items });
  }
  if (seg[0] === 'review' && seg[1] && M === 'POST') {
    if (!needAct()) return;
    const r = referrals.find((x) => x.id === Number(seg[1]));
    if (!r) return err(res, 404, 'not_found', 'no such referral');
    if (r.state !== 'held' && r.state !== 'suspicious') return err(res, 409, 'already_decided', r.state);
    const b = JSON.parse(await readBody(req) || '{}');
    r.state = b.decision === 'approve' ? 'claimed' : 'rejected'; r.state_label = label(r.state);
    return send(res, 200, detail(r));
  }
  if (path === '/rewards' && M === 'GET') {
    const list = rewards.filter((w) => okBranch(w.branch) && (!q.get('state') || w.state === q.get('state')));
    if (q.get('format') === 'csv') return csv(res, 'rewards', ['id', 'state', 'person', 'pool'], list.map((w) => [w.id, w.state, w.person.name, w.pool]));
    return send(res, 200, { total: list.length, items: list });
  }
  if ((path === '/rewards/approve' || path === '/rewards/void') && M === 'POST') {
    if (!needAct()) return;
    const b = JSON.parse(await readBody(req) || '{}');
    if (!Array.isArray(b.ids) || !b.ids.length) return err(res, 400, 'bad_request', 'ids');
    const results = b.ids.map((id) => {
      const w = rewards.find((x) => x.id === id);
      if (!w) return { id, ok: false, error: 'not_found' };
      if (path.endsWith('approve')) { if (w.state !== 'pending') return { id, ok: false, error: 'not_pending', detail: w.state }; w.state = 'approved'; }
      else { if (!['pending', 'approved'].includes(w.state)) return { id, ok: false, error: 'not_voidable' }; w.state = 'voided'; w.note = b.note; }
      return { id, ok: true };
    });
    return send(res, 200, { results });
  }
  if (path === '/coupons' && M === 'GET') return send(res, 200, { pools });
  if (seg[0] === 'coupons' && seg[1] && M === 'POST') {
    if (!needAdmin()) return;
    const p = pools.find((x) => x.pool === decodeURIComponent(seg[1]));
    if (!p) return err(res, 404, 'unknown_pool', seg[1]);
    const lines = (await readBody(req)).replace(/^\ufeff/, '').split(/\r?\n/);
    const errors = [];
    const codes = [];
    lines.forEach((l, i) => {
      if (i === 0 && l.trim() === 'code') return;
      if (!l.trim()) return;
      if (!/^[A-Za-z0-9-]{4,32}$/.test(l.trim())) errors.push({ line: i + 1, error: l.trim().length > 32 ? 'too_long' : 'bad_char' });
      else codes.push(l.trim());
    });
    if (errors.length) return send(res, 400, { added: 0, duplicates: 0, errors });
    p.total += codes.length; p.free += codes.length; p.low = p.free < p.low_stock;
    return send(res, 200, { added: codes.length, duplicates: 0, errors: [] });
  }
  if (path === '/customers' && M === 'GET') {
    const list = customers.filter((c) => okBranch(c.branch) && (!q.get('q') || (c.person.name + c.code).includes(q.get('q'))));
    if (q.get('format') === 'csv') return csv(res, 'customers', ['name', 'code', 'branch'], list.map((c) => [c.person.name, c.code, c.branch && c.branch.name]));
    const off = Number(q.get('offset')) || 0, lim = Number(q.get('limit')) || 100;
    return send(res, 200, { total: list.length, items: list.slice(off, off + lim) });
  }
  if (seg[0] === 'customers' && seg.length === 3 && M === 'GET') {
    const c = customers.find((x) => x.person.user_id === decodeURIComponent(seg[2]));
    if (!c) return err(res, 404, 'not_found', 'no such customer');
    if (!scoped(user, null)(c.branch)) return err(res, 403, 'forbidden', 'other branch');
    const made = referrals.filter((r) => r.referrer.user_id === c.person.user_id).map(strip);
    const by = referrals.find((r) => r.referee.user_id === c.person.user_id);
    return send(res, 200, { customer: c, referrals_made: made, referred_by: by ? strip(by) : null,
      rewards: rewards.filter((w) => w.person.user_id === c.person.user_id) });
  }
  if (path === '/reps' && M === 'GET') {
    const items = reps.filter((r) => okBranch(branchRef(r.branch))).map((r) => {
      const mine = referrals.filter((x) => x.rep.code === r.code);
      const waiting = mine.filter((x) => x.state === 'claimed').sort((a, b) => a.claimed_at - b.claimed_at).map((x) => ({ referral_id: x.id, since: x.claimed_at }));
      const claimed = mine.filter((x) => !['held', 'rejected'].includes(x.state)).length, won = mine.filter((x) => x.state === 'won').length;
      return { code: r.code, name: r.name, branch: branchRef(r.branch), open: mine.filter((x) => ['claimed', 'contacted', 'meeting'].includes(x.state)).length,
        waiting, claimed, won, win_rate: { num: won, den: claimed }, first_action_median_s: claimed ? 4000 + Math.round(rnd() * 40000) : null };
    });
    if (q.get('format') === 'csv') return csv(res, 'reps', ['rep', 'open', 'won'], items.map((x) => [x.name, x.open, x.won]));
    return send(res, 200, { items });
  }
  if (path === '/ops' && M === 'GET') {
    if (!needAdmin()) return;
    return send(res, 200, { outbox_failed: outbox,
      quarantine: { count: 3, by_reason: [{ reason: 'bad_signature', count: 2 }, { reason: 'bad_json', count: 1 }] },
      config: { path: '/etc/shokai/shokai.yaml', loaded_at: NOW - 5 * 3600000, last_reload: { at: NOW - 3600000, ok: false,
        errors: [{ file: 'referral.yaml', line: 52, column: 15, message: 'due_on: expected claim or won, got "wins"' }] } },
      richmenus: [
        { channel: 'line-main', id: 'main', name: 'メインメニュー', width: 2500, height: 1686, deployed: true, deployed_at: NOW - 9 * DAY,
          areas: [[0, 0, '友だちに紹介'], [1250, 0, '紹介状況'], [0, 843, '担当者に連絡'], [1250, 843, 'その他']].map(([x, y, l]) => ({ x, y, width: 1250, height: 843, label: l })) },
        { channel: 'line-main', id: 'info', name: 'その他', width: 2500, height: 843, deployed: false, deployed_at: null,
          areas: [{ x: 0, y: 0, width: 1250, height: 843, label: 'よくある質問' }, { x: 1250, y: 0, width: 1250, height: 843, label: 'メニューに戻る' }] },
      ] });
  }
  if (seg[0] === 'outbox' && seg[2] === 'retry' && M === 'POST') {
    if (!needAdmin()) return;
    const o = outbox.find((x) => x.id === Number(seg[1]));
    if (!o) return err(res, 404, 'not_found', 'no such message');
    outbox = outbox.filter((x) => x !== o);
    return send(res, 200, { id: o.id, state: 'queued' });
  }
  if (seg[0] === 'richmenus' && seg[3] === 'image' && M === 'GET') {
    if (!needAdmin()) return;
    try { return send(res, 200, await readFile(join(top, 'config', 'richmenu', seg[2] + '.png')), 'image/png'); } catch (e) { return err(res, 404, 'not_found', 'image'); }
  }
  if (path === '/audit' && M === 'GET') {
    if (!needAdmin()) return;
    const before = Number(q.get('before')) || Infinity, lim = Number(q.get('limit')) || 100;
    const items = audit.filter((a) => a.id < before).slice(0, lim);
    if (q.get('format') === 'csv') return csv(res, 'audit', ['id', 'at', 'actor', 'action', 'target'], items.map((a) => [a.id, a.at, a.actor, a.action, a.target]));
    return send(res, 200, { items });
  }
  if (path === '/users' && M === 'GET') { if (!needAdmin()) return; return send(res, 200, { items: Object.values(users) }); }
  if (path === '/session' && M === 'GET') return send(res, 200, { user, csrf: sess.csrf, idle_timeout_s: 1800 });
  if (path === '/session' && M === 'DELETE') { sessions.delete(sess.id); return send(res, 204, ''); }
  return err(res, 404, 'not_found', path);
}
function strip(r) { const { _notes, _events, ...rest } = r; return rest; }

const fails = new Map();
const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  try {
    if (u.pathname === '/admin' || u.pathname === '/admin/') return send(res, 200, await readFile(join(web, 'index.html')), TYPES['.html']);
    if (u.pathname.startsWith('/admin/static/')) {
      const rel = normalize(decodeURIComponent(u.pathname.slice('/admin/static/'.length)));
      if (rel.startsWith('..')) return err(res, 404, 'not_found', '');
      return send(res, 200, await readFile(join(web, rel)), TYPES[extname(rel)] || 'application/octet-stream');
    }
    if (!u.pathname.startsWith('/admin/api/v1/')) return err(res, 404, 'not_found', u.pathname);
    const path = u.pathname.slice('/admin/api/v1'.length);
    if (path === '/session' && req.method === 'POST') {
      const b = JSON.parse(await readBody(req) || '{}');
      const n = fails.get(b.login) || 0;
      if (n >= 5) return err(res, 429, 'rate_limited', 'too many tries', { retry_after: 60 });
      if (!users[b.login] || b.password !== 'demo-pass') { fails.set(b.login, n + 1); return err(res, 401, 'bad_login', 'no'); }
      const s = { id: randomBytes(16).toString('hex'), csrf: randomBytes(16).toString('hex'), login: b.login };
      sessions.set(s.id, s);
      return send(res, 200, { user: users[b.login], csrf: s.csrf, idle_timeout_s: 1800 }, undefined,
        { 'Set-Cookie': `shokai_session=${s.id}; Path=/admin; HttpOnly; SameSite=Strict` });
    }
    const cookie = /shokai_session=([0-9a-f]+)/.exec(req.headers.cookie || '');
    const sess = cookie && sessions.get(cookie[1]);
    if (!sess) return err(res, 401, 'unauthorized', 'no session');
    if (req.method !== 'GET' && req.headers['x-csrf-token'] !== sess.csrf) return err(res, 403, 'csrf', 'bad csrf token');
    await api(req, res, path, u.searchParams, users[sess.login], sess);
  } catch (e) {
    if (e.code === 'ENOENT') return err(res, 404, 'not_found', u.pathname);
    console.error(e);
    err(res, 500, 'internal', String(e));
  }
});
server.listen(PORT, '127.0.0.1', () => console.log(`dev-mock: http://127.0.0.1:${PORT}/admin/ (development aid only)`));
