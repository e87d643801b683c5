// router.js: hash routes such as #/referrals/128?state=won. A route's query string keeps
// a page's filters, so a reload or a shared link shows the same list.
const routes = [];
let handler = () => {};

// add('/referrals/:id', {...}) - the first matching route wins.
export function add(pattern, route) {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (m, n) => {
    names.push(n);
    return '([^/]+)';
  }) + '/?$');
  routes.push({ re, names, ...route });
}

export function current() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
    return { route: r, path, params, query };
  }
  return { route: null, path, params: {}, query };
}

// href('/funnel/claimed', {from: '2026-12-01'}) -> '#/funnel/claimed?from=2026-12-01'
export function href(path, query) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== null && v !== undefined && v !== '') qs.set(k, String(v));
  }
  const s = qs.toString();
  return '#' + path + (s ? '?' + s : '');
}

export function go(path, query) {
  const target = href(path, query);
  if (location.hash === target) handler(current());
  else location.hash = target;
}

// Changes the query without a new history entry per keystroke of a filter.
export function setQuery(query) {
  const { path } = current();
  history.replaceState(null, '', href(path, query));
}

export function start(fn) {
  handler = fn;
  window.addEventListener('hashchange', () => handler(current()));
  handler(current());
}
