// login.js: the login form (POST /session). A 401 says the login or password is wrong;
// a 429 says how long to wait before the next try.
import { h, replace } from '../dom.js';
import { t } from '../text.js';
import { api } from '../api.js';
import { errorText } from '../ui.js';

export function renderLogin(root, onLoggedIn) {
  const login = h('input', { name: 'login', autocomplete: 'username', required: true,
    autocapitalize: 'off', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'login-msg', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
  const form = h('form', { class: 'login-form', onsubmit: async (e) => {
    e.preventDefault();
    replace(msg);
    submit.disabled = true;
    try {
      const s = await api.post('/session', { login: login.value.trim(), password: password.value },
        { quiet401: true });
      await onLoggedIn(s);
    } catch (err) {
      password.value = '';
      if (err.status === 401) replace(msg, t('login.bad'));
      else if (err.status === 429) replace(msg, t('login.wait', { s: err.retryAfter || 60 }));
      else replace(msg, errorText(err));
      password.focus();
    } finally {
      submit.disabled = false;
    }
  } },
  h('h1', null, h('span', { class: 'brand-mark' }), t('login.title')),
  h('p', { class: 'muted' }, t('login.lead')),
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('login.login')), login),
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('login.password')), password),
  msg, submit);
  replace(root, h('div', { class: 'login-page' }, form));
  login.focus();
}
