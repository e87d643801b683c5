// reward-table.js: rewards as a table, optionally with a checkbox per row for bulk
// approve / void (the rewards page) - read-only elsewhere (referral, customer pages).
import { h } from '../dom.js';
import { t } from '../text.js';
import { dateTime } from '../format.js';
import { table, personLink, refLink, rewardBadge } from '../ui.js';

export function rewardTable(rows, { selected, onToggle, actions } = {}) {
  // The checkbox shares the first cell with the id, so the ticked row says which reward
  // it is (on a phone each row is a card: who gets what, and when).
  const check = (x) => (selected && (x.state === 'pending' || x.state === 'approved'))
    ? h('input', { type: 'checkbox', class: 'row-check', checked: selected.has(x.id),
      dataset: { id: x.id }, 'aria-label': t('rewards.select_one', { id: x.id }),
      onchange: (e) => onToggle(x.id, e.target.checked) }) : null;
  const cols = [];
  cols.push(
    { key: 'id', label: t('col.reward'), render: (x) => h('label', { class: 'check-cell' },
      check(x), t('rewards.short', { id: x.id })) },
    { key: 'state', label: t('col.state'), render: (x) => rewardBadge(x.state) },
    { key: 'person', label: t('col.recipient'), render: (x) => personLink(x.person) },
    { key: 'side', label: t('col.side'), render: (x) => t('side.' + x.side) },
    { key: 'referral', label: t('col.referral'), render: (x) => refLink(x.referral_id) },
    { key: 'pool', label: t('col.pool'), render: (x) => x.pool },
    { key: 'due_at', label: t('col.due_at'), render: (x) => dateTime(x.due_at) },
    { key: 'approve_after', label: t('col.approve_after'), render: (x) => dateTime(x.approve_after) },
    { key: 'issued_at', label: t('col.issued_at'), render: (x) => dateTime(x.issued_at) },
    { key: 'note', label: t('col.note'), render: (x) => x.note || '' });
  if (actions) cols.push({ key: 'act', label: t('col.actions'), render: actions });
  return table(cols, rows, { stack: true });
}
