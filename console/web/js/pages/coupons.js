// coupons.js: the coupon pools' stock with a low-stock warning, and (admins) the CSV
// upload, which adds nothing when any line is bad and lists every bad line.
import { h, replace } from '../dom.js';
import { t, tOr } from '../text.js';
import { api } from '../api.js';
import { num } from '../format.js';
import { can } from '../session.js';
import { section, empty, errorBox, notice, toast } from '../ui.js';

function poolCard(p) {
  return h('div', { class: ['card', 'pool', p.low && 'pool-low'], dataset: { pool: p.pool } },
    h('div', { class: 'card-label' }, p.pool),
    h('div', { class: 'pool-nums' },
      h('div', null, h('span', { class: 'muted' }, t('coupons.total')), h('b', null, num(p.total))),
      h('div', null, h('span', { class: 'muted' }, t('coupons.used')), h('b', null, num(p.used))),
      h('div', null, h('span', { class: 'muted' }, t('coupons.free')), h('b', { class: 'free' }, num(p.free)))),
    p.low ? h('div', { class: 'alert alert-warn small' }, t('coupons.low', { n: num(p.low_stock) })) : null);
}

// The import's reasons are English sentences from the shared CSV checker (the same text
// shokaictl prints); the page says in Japanese that the line was refused and keeps the
// reason beside it for whoever fixes the file.
function lineError(why) {
  const code = String(why || '');
  if (/^[a-z_]+$/.test(code)) return tOr('import_error.' + code, code);
  return [t('coupons.bad_line'), ' ', h('small', { class: 'muted' }, '(' + code + ')')];
}

function uploadForm(pools, onDone) {
  const pool = h('select', { name: 'pool' }, pools.map((p) => h('option', { value: p.pool }, p.pool)));
  const file = h('input', { type: 'file', name: 'file', class: 'file-input', accept: '.csv,.txt,text/csv,text/plain' });
  const fileName = h('span', { class: 'file-name muted' }, t('coupons.no_file'));
  file.addEventListener('change', () => replace(fileName, file.files[0] ? file.files[0].name : t('coupons.no_file')));
  const result = h('div', { class: 'upload-result' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, t('coupons.upload'));
  const form = h('form', { class: 'upload-form', onsubmit: async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) { replace(result, notice(t('coupons.choose_file'), 'warn')); return; }
    submit.disabled = true;
    try {
      const text = await f.text();
      const r = await api.postBody('/coupons/' + encodeURIComponent(pool.value), text, 'text/csv');
      replace(result, notice(t('coupons.imported', { added: num(r.added), dup: num(r.duplicates) }), 'ok'));
      toast(t('coupons.imported', { added: num(r.added), dup: num(r.duplicates) }));
      file.value = '';
      replace(fileName, t('coupons.no_file'));
      onDone();
    } catch (err) {
      const body = err.body;
      if (err.status === 400 && body && Array.isArray(body.errors)) {
        replace(result,
          h('div', { class: 'alert alert-error', role: 'alert' },
            h('strong', null, t('coupons.bad_lines', { n: num(body.errors.length) })),
            h('div', { class: 'alert-sub' }, t('coupons.kept_none'))),
          h('ul', { class: 'error-lines' }, body.errors.map((x) =>
            h('li', null, h('b', null, t('coupons.line', { n: num(x.line) })), ' ', lineError(x.error)))));
      } else {
        replace(result, errorBox(err, 'coupons.kept_none'));
      }
    } finally {
      submit.disabled = false;
    }
  } },
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('coupons.pool')), pool),
  h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('coupons.file')),
    h('div', { class: 'file-pick' }, h('label', { class: 'btn' }, file, t('coupons.choose')), fileName)),
  submit);
  return h('div', { class: 'upload' }, h('h3', null, t('coupons.upload_title')),
    h('p', { class: 'muted small' }, t('coupons.upload_hint')), form, result);
}

export function couponsSection(pools) {
  const box = h('div', { class: 'cards pools' });
  const draw = (list) => replace(box, list.length ? list.map(poolCard) : empty('coupons.empty'));
  draw(pools);
  const reload = async () => {
    try { draw((await api.get('/coupons')).pools); } catch (e) { replace(box, errorBox(e)); }
  };
  return section(t('coupons.title'), box,
    can('admin') && pools.length ? uploadForm(pools, reload) : null);
}
