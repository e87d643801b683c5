// charts.js: the dashboard's two Chart.js charts (trend and funnel) with the console's
// colours and fonts. Chart.js comes from vendor/ as a classic script (window.Chart).
import { h } from './dom.js';
import { t } from './text.js';
import { num, shortYmd, pct } from './format.js';

const GREEN = '#06c755';
const BLUE = '#2f6fde';
const BAR = 'rgba(6, 199, 85, 0.18)';
const BAR_EDGE = 'rgba(6, 199, 85, 0.45)';
const FONT = '"Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic UI", "Meiryo", system-ui, sans-serif';

function lib() {
  const C = window.Chart;
  if (!C) throw Object.assign(new Error('Chart.js missing'), { code: 'chart_missing' });
  C.defaults.font.family = FONT;
  C.defaults.color = '#4a5560';
  C.defaults.animation = false; // calm, and screenshots never catch a half-drawn chart
  return C;
}

export function chartBox(label, tall) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  return { canvas, box: h('div', { class: tall ? 'chart-box chart-tall' : 'chart-box' }, canvas) };
}

export function trendChart(canvas, trend) {
  const C = lib();
  const pts = trend.points;
  return new C(canvas, {
    data: {
      labels: pts.map((p) => shortYmd(p.date)),
      datasets: [
        { type: 'line', label: t('figure.claimed'), data: pts.map((p) => p.claimed),
          borderColor: GREEN, backgroundColor: GREEN, yAxisID: 'y', cubicInterpolationMode: 'monotone',
          pointRadius: 2, order: 1 },
        { type: 'line', label: t('figure.won'), data: pts.map((p) => p.won),
          borderColor: BLUE, backgroundColor: BLUE, yAxisID: 'y', cubicInterpolationMode: 'monotone',
          pointRadius: 2, order: 2 },
        { type: 'bar', label: t('figure.clicks'), data: pts.map((p) => p.clicks),
          backgroundColor: BAR, borderColor: BAR_EDGE, borderWidth: 1, yAxisID: 'y1', order: 3 },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${num(c.parsed.y)}` } },
      },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        y: { beginAtZero: true, position: 'left', ticks: { precision: 0 },
          title: { display: true, text: t('dashboard.axis_people') } },
        y1: { beginAtZero: true, position: 'right', grid: { display: false },
          ticks: { precision: 0 }, title: { display: true, text: t('figure.clicks') } },
      },
    },
  });
}

// The funnel as horizontal bars; each bar's label carries the step rate from the stage
// above, and a click on a bar calls onStage(stage).
export function funnelChart(canvas, funnel, onStage) {
  const C = lib();
  const labels = funnel.map((f, i) => {
    const name = t('funnel.' + f.stage);
    if (i === 0) return name;
    const p = pct({ num: f.count, den: funnel[i - 1].count });
    return [name, p ? t('dashboard.step_rate', { p }) : t('common.none')];
  });
  return new C(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: [{ label: t('dashboard.funnel_people'), data: funnel.map((f) => f.count),
        backgroundColor: funnel.map((f, i) => `rgba(6, 199, 85, ${0.9 - i * 0.13})`),
        borderRadius: 4, barPercentage: 0.8 }],
    },
    options: {
      indexAxis: 'y', responsive: true, maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => t('common.people', { n: num(c.parsed.x) }) } },
      },
      scales: {
        x: { beginAtZero: true, ticks: { precision: 0 } },
        y: { grid: { display: false } },
      },
      onHover: (e, els) => { e.native.target.style.cursor = els.length ? 'pointer' : 'default'; },
      onClick: (e, els) => { if (els.length) onStage(funnel[els[0].index].stage); },
    },
  });
}
