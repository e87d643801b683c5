// richmenus.js: each configured rich menu drawn from its image with the tap areas
// outlined (boxes placed in percent of the menu's size, so they follow the image's
// scaled width), and whether it is deployed.
import { h } from '../dom.js';
import { t } from '../text.js';
import { url } from '../api.js';
import { dateTime } from '../format.js';
import { badge, empty } from '../ui.js';

function menu(m) {
  const img = h('img', { class: 'rm-image', alt: t('ops.rm_alt', { id: m.id }),
    src: url('/richmenus/' + encodeURIComponent(m.channel) + '/' + encodeURIComponent(m.id) + '/image'),
    width: m.width, height: m.height, loading: 'lazy' });
  const missing = h('div', { class: 'rm-missing muted' }, t('ops.rm_no_image'));
  img.addEventListener('error', () => { img.replaceWith(missing); });
  const stage = h('div', { class: 'rm-stage' }, img);
  // The stage keeps the menu's aspect ratio even before (or without) the image.
  stage.style.aspectRatio = `${m.width} / ${m.height}`;
  m.areas.forEach((a, i) => {
    const box = h('div', { class: 'rm-area', title: a.label }, h('span', null, (i + 1) + '. ' + a.label));
    box.style.left = (a.x / m.width * 100) + '%';
    box.style.top = (a.y / m.height * 100) + '%';
    box.style.width = (a.width / m.width * 100) + '%';
    box.style.height = (a.height / m.height * 100) + '%';
    stage.appendChild(box);
  });
  return h('div', { class: 'rm', dataset: { menu: m.id } },
    h('div', { class: 'rm-head' },
      h('b', null, m.name || m.id), ' ',
      h('span', { class: 'muted small' }, m.channel, ' · ', `${m.width}×${m.height}`), ' ',
      m.deployed ? badge(t('ops.rm_deployed'), 'ok') : badge(t('ops.rm_not_deployed'), 'plain'),
      m.deployed_at ? h('span', { class: 'muted small' }, ' ', dateTime(m.deployed_at)) : null),
    stage);
}

export function richMenus(list) {
  if (!list.length) return empty('ops.rm_empty');
  return h('div', { class: 'rm-list' }, list.map(menu));
}
