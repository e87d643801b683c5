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

function uploadForm(pools, onDone) {
  const pool = h('select', { name: 'pool' }, pools.map((p) => h('option', { value: p.pool }, p.pool)));
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,.txt,text/csv,text/plain' });
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
      onDone();
    } catch (err) {
      const body = err.body;
      if (err.status === 400 && body && Array.isArray(body.errors)) {
        replace(result,
          h('div', { class: 'alert alert-error', role: 'alert' },
            h('strong', null, t('coupons.bad_lines', { n: num(body.errors.length) })),
            h('div', { class: 'alert-sub' }, t('coupons.kept_none'))),
          h('ul', { class: 'error-lines' }, body.errors.map((x) =>
            h('li', null, h('b', null, t('coupons.line', { n: num(x.line) })), ' ',
              tOr('import_error.' + x.error, x.error)))));
      } else {
        replace(result, errorBox(err, 'coupons.kept_none'));
      }
    } finally {
      submit.disabled = false;
    }
  } },
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('coupons.pool')), pool),
  h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('coupons.file')), file),
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
