// app.js: boots the console: loads the words, asks who is logged in, then draws the
// shell (header, navigation) and lets the router fill the main area.
import { h, replace } from './dom.js';
import { loadText, t } from './text.js';
import { api, setCsrf, setUnauthorizedHandler } from './api.js';
import { setTimeZone } from './format.js';
import { session, can } from './session.js';
import * as router from './router.js';
import { errorBox, loading } from './ui.js';
import { renderLogin } from './pages/login.js';
import * as dashboard from './pages/dashboard.js';
import * as funnel from './pages/funnel.js';
import * as referrals from './pages/referrals.js';
import * as referral from './pages/referral.js';
import * as review from './pages/review.js';
import * as rewards from './pages/rewards.js';
import * as customers from './pages/customers.js';
import * as customer from './pages/customer.js';
import * as reps from './pages/reps.js';
import * as conversations from './pages/conversations.js';
import * as conversation from './pages/conversation.js';
import * as ops from './pages/ops.js';
import * as announcements from './pages/announcements.js';

const app = document.getElementById('app');
const NAV = [
  { path: '/', key: 'nav.dashboard', match: /^\/(funnel\/.*)?$/ },
  { path: '/referrals', key: 'nav.referrals', match: /^\/referrals/ },
  { path: '/review', key: 'nav.review', match: /^\/review/ },
  { path: '/rewards', key: 'nav.rewards', match: /^\/rewards/ },
  { path: '/conversations', key: 'nav.conversations', match: /^\/conversations/ },
  { path: '/customers', key: 'nav.customers', match: /^\/customers/ },
  { path: '/reps', key: 'nav.reps', match: /^\/reps/ },
  { path: '/announcements', key: 'nav.announcements', match: /^\/announcements/ },
  { path: '/ops', key: 'nav.ops', match: /^\/ops/, need: 'admin' },
];

router.add('/', { page: dashboard });
router.add('/funnel/:stage', { page: funnel });
router.add('/referrals', { page: referrals });
router.add('/referrals/:id', { page: referral });
router.add('/review', { page: review });
router.add('/rewards', { page: rewards });
router.add('/customers', { page: customers });
router.add('/customers/:channel/:user', { page: customer });
router.add('/conversations', { page: conversations });
router.add('/conversations/:channel/:user', { page: conversation });
router.add('/reps', { page: reps });
router.add('/announcements', { page: announcements });
router.add('/announcements/:id', { page: announcements });
router.add('/ops', { page: ops, need: 'admin' });

let main = null;
let nav = null;
let cleanup = null;
let started = false;

function showLogin() {
  session.user = null;
  setCsrf(null);
  if (cleanup) { cleanup(); cleanup = null; }
  main = null;
  document.title = t('login.title') + ' - shokai';
  renderLogin(app, async (s) => {
    setCsrf(s.csrf);
    session.user = s.user;
    await enter();
  });
}

async function logout() {
  try { await api.del('/session', { quiet401: true }); } catch (e) { /* already gone */ }
  showLogin();
}

function drawShell() {
  const meta = session.meta;
  const u = session.user;
  nav = h('nav', { class: 'nav', 'aria-label': t('nav.label') },
    NAV.filter((n) => !n.need || can(n.need)).map((n) =>
      h('a', { href: router.href(n.path), dataset: { path: n.path } }, t(n.key))));
  main = h('main', { class: 'main', id: 'main' });
  replace(app,
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: '#/' }, h('span', { class: 'brand-mark' }), meta.company_name),
      h('div', { class: 'who' },
        h('span', { class: 'who-name' }, u.name),
        h('span', { class: 'badge badge-plain' }, t('role.' + u.role)),
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: logout },
          t('nav.logout')))),
    h('div', { class: 'layout' }, nav, main));
}

async function show(cur) {
  if (!main) return;
  if (cleanup) { cleanup(); cleanup = null; }
  for (const a of nav.querySelectorAll('a')) {
    const item = NAV.find((n) => n.path === a.dataset.path);
    const on = item.match.test(cur.path);
    a.classList.toggle('active', on);
    // On a phone the navigation is a sideways strip: keep the current page's tab in view.
    if (on && (a.offsetLeft < nav.scrollLeft || a.offsetLeft + a.offsetWidth > nav.scrollLeft + nav.clientWidth)) {
      nav.scrollLeft = a.offsetLeft - 12;
    }
  }
  // Each visit draws into a fresh element, so a slow answer for a page the user already
  // left lands in a detached node instead of over the new page.
  const root = h('div', { class: 'page' }, loading());
  replace(main, root);
  window.scrollTo(0, 0);
  if (!cur.route || (cur.route.need && !can(cur.route.need))) {
    replace(root, errorBox({ code: cur.route ? 'forbidden' : 'not_found' }));
    return;
  }
  try {
    const c = await cur.route.page.render(root, { params: cur.params, query: cur.query });
    if (typeof c === 'function') cleanup = c;
  } catch (e) {
    // eslint-disable-next-line no-console
    if (!e || !e.code) console.error(e);
    if (root.isConnected) replace(root, errorBox(e, 'common.kept_nothing_changed'));
  }
}

async function enter() {
  session.meta = await api.get('/meta');
  setTimeZone(session.meta.timezone);
  document.title = session.meta.company_name + ' - shokai';
  drawShell();
  if (!started) {
    started = true;
    router.start(show);
  } else {
    show(router.current());
  }
}

async function boot() {
  try {
    await loadText();
  } catch (e) {
    replace(app, h('p', { class: 'alert alert-error' }, String(e.message)));
    return;
  }
  setUnauthorizedHandler(showLogin);
  app.removeAttribute('aria-busy');
  try {
    const s = await api.get('/session', null, { quiet401: true });
    setCsrf(s.csrf);
    session.user = s.user;
    await enter();
  } catch (e) {
    if (e.status === 401) showLogin();
    else replace(app, errorBox(e));
  }
}

boot();
