// api.js: the console's only door to /admin/api/v1. Adds the CSRF token to every
// state-changing request, turns error answers into ApiError, and sends any 401 back to
// the login page (the session expired or was revoked).
const BASE = '/admin/api/v1';
let csrf = null;
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, detail, body, retryAfter) {
    super(code + (detail ? ': ' + detail : ''));
    this.status = status;
    this.code = code;
    this.detail = detail || '';
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

export function setCsrf(token) { csrf = token; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

// url('/referrals', {state: 'won', q: ''}) -> '/admin/api/v1/referrals?state=won'
// (empty values are left out so a cleared filter means "all").
export function url(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return BASE + path + (s ? '?' + s : '');
}

export function csvUrl(path, params) {
  return url(path, { ...(params || {}), format: 'csv' });
}

async function request(method, path, { params, json, body, contentType, quiet401 } = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/octet-stream';
    payload = body;
  }
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url(path, params), {
      method, headers, body: payload, credentials: 'same-origin', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', String(e && e.message || e));
  }
  if (res.status === 204) return null;
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { data = await res.json(); } catch (e) { data = null; }
  }
  if (res.ok) return data;
  if (res.status === 401 && !quiet401) onUnauthorized();
  const code = (data && data.error) || 'http_' + res.status;
  const retry = (data && data.retry_after) || Number(res.headers.get('Retry-After')) || null;
  throw new ApiError(res.status, code, data && data.detail, data, retry);
}

export const api = {
  get: (path, params, opts) => request('GET', path, { ...opts, params }),
  post: (path, json, opts) => request('POST', path, { ...opts, json }),
  postBody: (path, body, contentType, opts) =>
    request('POST', path, { ...opts, body, contentType }),
  del: (path, opts) => request('DELETE', path, opts),
};
