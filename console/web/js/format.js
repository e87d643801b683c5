// format.js: numbers, dates and durations as the console shows them. Times are unix
// milliseconds shown in the config's time zone (meta.timezone); dates are YYYY-MM-DD
// strings that are already in that zone.
import { t } from './text.js';

let zone = 'Asia/Tokyo';
let dateFmt, timeFmt, dowFmt, dowUtc;
const numFmt = new Intl.NumberFormat('ja-JP');
const pctFmt = new Intl.NumberFormat('ja-JP', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function setTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('ja-JP', { timeZone: tz });
    zone = tz;
  } catch (e) { /* an unknown zone keeps the default rather than breaking every page */ }
  dateFmt = new Intl.DateTimeFormat('ja-JP', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
  timeFmt = new Intl.DateTimeFormat('ja-JP', {
    timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  dowFmt = new Intl.DateTimeFormat('ja-JP', { timeZone: zone, weekday: 'short' });
  dowUtc = new Intl.DateTimeFormat('ja-JP', { timeZone: 'UTC', weekday: 'short' });
}
setTimeZone(zone);

export function timeZone() { return zone; }

export function num(n) {
  return n === null || n === undefined ? t('common.none') : numFmt.format(n);
}

function ymdParts(ms) {
  const p = {};
  for (const x of dateFmt.formatToParts(new Date(ms))) p[x.type] = x.value;
  return p;
}

// 1733205600000 -> '2026/12/03 (木)'
export function date(ms) {
  if (ms === null || ms === undefined) return t('common.none');
  const p = ymdParts(ms);
  return `${p.year}/${p.month}/${p.day} (${dowFmt.format(new Date(ms))})`;
}

// -> '2026/12/03 (木) 14:05'
export function dateTime(ms) {
  if (ms === null || ms === undefined) return t('common.none');
  return date(ms) + ' ' + timeFmt.format(new Date(ms));
}

// In a wide table: '12/03 (木) 14:05' within this year (in the zone), else as dateTime.
export function shortDateTime(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return t('common.none');
  const p = ymdParts(ms);
  if (p.year !== ymdParts(now).year) return dateTime(ms);
  return `${p.month}/${p.day} (${dowFmt.format(new Date(ms))}) ${timeFmt.format(new Date(ms))}`;
}

// '2026-12-03' -> '2026/12/03 (木)'
export function ymd(s) {
  if (!s) return t('common.none');
  const d = new Date(s + 'T00:00:00Z');
  return `${s.slice(0, 4)}/${s.slice(5, 7)}/${s.slice(8, 10)} (${dowUtc.format(d)})`;
}

// '2026-12-03' -> '12/03' (chart axes)
export function shortYmd(s) {
  return s ? s.slice(5, 7) + '/' + s.slice(8, 10) : '';
}

// seconds -> '3日 4時間' / '2時間 5分' / '12分'
export function duration(s) {
  if (s === null || s === undefined) return t('common.none');
  s = Math.max(0, Math.round(s));
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), mm = Math.floor((s % 3600) / 60);
  if (d > 0) return t('unit.days_hours', { d, h: hh });
  if (hh > 0) return t('unit.hours_minutes', { h: hh, m: mm });
  if (mm > 0) return t('unit.minutes', { m: mm });
  return t('unit.under_minute');
}

// how long ago a unix-ms time was
export function age(ms, now = Date.now()) {
  return duration((now - ms) / 1000);
}

// {num, den} -> '42.5%' or null when there is no denominator
export function pct(rate) {
  if (!rate || !rate.den) return null;
  return pctFmt.format((rate.num / rate.den) * 100) + '%';
}

export function ratio(rate) {
  return rate ? rate.num / (rate.den || 1) : 0;
}
