// period.js: the period presets (今月 / 先月 / 過去30日 / 期間指定) as from/to dates,
// counted from meta.today so "this month" is the config time zone's month.
function parse(s) { return new Date(s + 'T00:00:00Z'); }
function fmt(d) { return d.toISOString().slice(0, 10); }
function addDays(s, n) { const d = parse(s); d.setUTCDate(d.getUTCDate() + n); return fmt(d); }

export const PRESETS = ['this_month', 'last_month', 'last30', 'custom'];

export function range(preset, today, from, to) {
  const first = today.slice(0, 8) + '01';
  switch (preset) {
    case 'last_month': {
      const end = addDays(first, -1);
      return { from: end.slice(0, 8) + '01', to: end };
    }
    case 'last30':
      return { from: addDays(today, -29), to: today };
    case 'custom':
      if (from && to && from <= to) return { from, to };
      return { from: first, to: today };
    default:
      return { from: first, to: today };
  }
}
