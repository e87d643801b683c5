// filters.js: the filter bar shared by the lists (state, branch, rep, campaign, period,
// name search). Values live in the route's query so a reload keeps them.
import { h } from './dom.js';
import { t } from './text.js';
import { session, showBranchSelector } from './session.js';
import { select, field } from './ui.js';

// filterBar(query, spec, onchange): spec lists the filters this page has, e.g.
// ['state', 'branch', 'rep', 'campaign', 'period', 'q']; onchange(newQueryObject).
export function filterBar(query, spec, onchange, extra = {}) {
  const meta = session.meta;
  const val = Object.fromEntries(query.entries());
  const set = (k, v) => { const next = { ...val, [k]: v }; delete next.offset; onchange(next); };
  const parts = [];
  for (const f of spec) {
    if (f === 'state') {
      parts.push(field(t('filter.state'), select('state', meta.states.map((s) => ({
        value: s.id, label: s.label })), val.state, (v) => set('state', v), t('filter.all'))));
    } else if (f === 'reward_state') {
      parts.push(field(t('filter.state'), select('state', meta.reward_states.map((s) => ({
        value: s, label: t('reward_state.' + s) })), val.state, (v) => set('state', v), t('filter.all'))));
    } else if (f === 'branch' && showBranchSelector()) {
      parts.push(field(t('filter.branch'), select('branch', meta.branches.map((b) => ({
        value: b.code, label: b.name })), val.branch, (v) => set('branch', v), t('filter.all'))));
    } else if (f === 'rep') {
      const reps = meta.reps.filter((r) => !val.branch || r.branch === val.branch);
      parts.push(field(t('filter.rep'), select('rep', reps.map((r) => ({
        value: r.code, label: r.name })), val.rep, (v) => set('rep', v), t('filter.all'))));
    } else if (f === 'partner') {
      // Partners' referrals apart from customers' (the API's partner=1 or 0).
      parts.push(field(t('filter.partner'), select('partner', [
        { value: '1', label: t('filter.partners_only') },
        { value: '0', label: t('filter.customers_only') }], val.partner,
      (v) => set('partner', v), t('filter.all'))));
    } else if (f === 'campaign') {
      parts.push(field(t('filter.campaign'), select('campaign', meta.campaigns.map((c) => ({
        value: c.id, label: c.name })), val.campaign, (v) => set('campaign', v), t('filter.all'))));
    } else if (f === 'period') {
      const from = h('input', { type: 'date', name: 'from', value: val.from || '' });
      const to = h('input', { type: 'date', name: 'to', value: val.to || '' });
      const apply = () => onchange({ ...val, from: from.value, to: to.value, offset: '' });
      from.addEventListener('change', apply);
      to.addEventListener('change', apply);
      parts.push(field(t('filter.from'), from), field(t('filter.to'), to));
    } else if (f === 'q') {
      const q = h('input', { type: 'search', name: 'q', value: val.q || '',
        placeholder: t(extra.qPlaceholder || 'filter.q_placeholder') });
      const form = h('form', { class: 'search-form', onsubmit: (e) => {
        e.preventDefault();
        set('q', q.value.trim());
      } }, q, h('button', { type: 'submit', class: 'btn' }, t('filter.search')));
      parts.push(field(t('filter.q'), form));
    }
  }
  // A page whose only filter the caller may not use (a manager's branch) shows none,
  // not an empty box.
  return parts.length > 0 ? h('div', { class: 'filters' }, parts) : null;
}
