// The review page: case queue, before/after maps, case panel, keyboard triage. Plain ES module, no
// build step; everything it shows comes from the JSON API, which also decides what the user may do.
import * as maplibregl from '/static/maplibre/maplibre-gl.mjs';

const $ = (id) => document.getElementById(id);
const MU = 2000 / 3;
const state = { me: null, csrf: null, meta: null, offset: 0, limit: 50, rows: [], total: 0, index: -1, current: null, style: 'true', maps: null };

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (method !== 'GET') h['X-CSRF-Token'] = state.csrf ?? '';
  if (json !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body, credentials: 'same-origin' });
  const data = r.headers.get('content-type')?.includes('json') ? await r.json() : null;
  if (r.status === 401 && !path.startsWith('/api/login')) showLogin();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const mu = (m2) => (m2 / MU).toFixed(2);

// ---- login -------------------------------------------------------------------------------------
function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-username').focus();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const r = await api('/api/login', { method: 'POST', json: { username: $('login-username').value, password: $('login-password').value } });
    state.me = r.user;
    state.csrf = r.csrfToken;
    $('login-password').value = '';
    await start();
  } catch (err) {
    $('login-error').textContent = err.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST' }).catch(() => undefined);
  location.reload();
});

// ---- queue -------------------------------------------------------------------------------------
function filterParams() {
  const p = new URLSearchParams();
  for (const [k, id] of [['run', 'f-run'], ['xzqdm', 'f-xzqdm'], ['tblx', 'f-tblx'], ['status', 'f-status'], ['sfjbnt', 'f-sfjbnt']]) if ($(id).value) p.set(k, $(id).value);
  if ($('f-min').value) p.set('minAreaM2', String(Number($('f-min').value) * MU));
  if ($('f-max').value) p.set('maxAreaM2', String(Number($('f-max').value) * MU));
  return p;
}

async function loadList(keep) {
  const p = filterParams();
  p.set('order', $('f-order').value);
  p.set('limit', String(state.limit));
  p.set('offset', String(state.offset));
  const r = await api(`/api/cases?${p}`);
  // The selection may have moved while the list loaded: keep the row selected now, not at the call.
  const selected = keep ? state.rows[state.index]?.jcbh ?? state.current?.jcbh : undefined;
  state.rows = r.rows;
  state.total = r.total;
  $('queue-meta').textContent = `共 ${r.total} 个图斑`;
  $('page-info').textContent = r.total ? `${r.offset + 1}–${r.offset + r.rows.length}` : '';
  $('case-list').innerHTML = r.rows
    .map(
      (c, i) =>
        `<li data-i="${i}" data-jcbh="${esc(c.jcbh)}" class="status-${esc(c.status)}"><b>${esc(c.jcbh)}</b> <span class="type">${esc(c.tblxmc)}</span>` +
        `<span class="meta">${esc(c.xzqmc ?? c.xzqdm ?? '')} · ${mu(c.areaM2)} 亩${c.sfjbnt ? ' · <em>永农</em>' : ''}</span><span class="status">${esc(c.statusLabel)}</span></li>`,
    )
    .join('');
  for (const [fmt, id] of [['xlsx', 'export-xlsx'], ['shp', 'export-shp'], ['kml', 'export-kml']]) {
    const e = new URLSearchParams(filterParams());
    e.set('format', fmt);
    $(id).href = `/api/export?${e}`;
  }
  const i = keep ? state.rows.findIndex((c) => c.jcbh === selected) : -1;
  state.index = i;
  markSelected();
}

function markSelected() {
  for (const li of $('case-list').children) li.classList.toggle('selected', Number(li.dataset.i) === state.index);
  $('case-list').children[state.index]?.scrollIntoView({ block: 'nearest' });
}

$('case-list').addEventListener('click', (e) => {
  const li = e.target.closest('li');
  if (li) select(Number(li.dataset.i));
});
$('filters').addEventListener('change', () => {
  state.offset = 0;
  loadList(false).catch(showError);
});
$('prev-page').addEventListener('click', () => {
  state.offset = Math.max(0, state.offset - state.limit);
  loadList(false).catch(showError);
});
$('next-page').addEventListener('click', () => {
  if (state.offset + state.limit < state.total) state.offset += state.limit;
  loadList(false).catch(showError);
});

async function select(i) {
  if (i < 0 || i >= state.rows.length) return;
  state.index = i;
  markSelected();
  await openCase(state.rows[i].jcbh);
}

// ---- case panel --------------------------------------------------------------------------------
const EVENT_KIND = { created: '发现', observed: '再次监测到', transition: '状态变更', split: '拆分', merge: '合并', relapse: '复发', attachment: '上传附件' };
const FIELD_LABEL = { approvalNo: '批准文号', reason: '原因', illegalKind: '违法类型', filingNo: '备案编号', evidence: '整改材料', deadline: '期限', role: '角色', filename: '文件' };

async function openCase(jcbh) {
  // Keys can open cases faster than they load; only the last one opened may fill the panel.
  const seq = (state.openSeq = (state.openSeq ?? 0) + 1);
  const c = await api(`/api/cases/${encodeURIComponent(jcbh)}`);
  if (seq !== state.openSeq) return;
  state.current = c;
  hideDecision();
  $('panel-empty').hidden = true;
  $('case').hidden = false;
  $('case-title').textContent = `${c.jcbh} · ${c.tblxmc}`;
  const attrs = [
    ['状态', c.statusLabel + (c.rulingLabel && c.rulingLabel !== c.statusLabel ? `（${c.rulingLabel}）` : '')],
    ['乡镇', `${c.xzqmc ?? ''} ${c.xzqdm ?? ''}`],
    ['村', c.cjmc],
    ['基期地类', c.dlbm ? `${c.dlbm} ${c.dlmc ?? ''}` : null],
    ['面积', `${mu(c.areaM2)} 亩（${c.areaM2.toFixed(0)} m²）`],
    ['其中耕地', `${mu(c.gdmj)} 亩`],
    ['永久基本农田', c.sfjbnt ? `是（${mu(c.yjjbntmj)} 亩）` : '否'],
    ['前时相 / 后时相', `${c.qsx ?? ''} / ${c.hsx ?? ''}`],
    ['批准文号', c.pzwh],
    ['期限', c.deadline],
    ['监测次数', c.observations + (c.relapses ? `（复发 ${c.relapses} 次）` : '')],
  ];
  $('case-attrs').innerHTML = attrs.filter(([, v]) => v != null && v !== '').map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  $('chip-before').src = `/api/cases/${encodeURIComponent(jcbh)}/chips/before.png`;
  $('chip-after').src = `/api/cases/${encodeURIComponent(jcbh)}/chips/after.png`;
  $('actions').innerHTML = c.allowed.map((a) => `<button data-to="${esc(a.to)}">${esc(a.label)}</button>`).join('') || '<span class="muted">无可执行操作</span>';
  $('attachments').innerHTML = c.attachments.map((a) => `<li><a href="/api/cases/${encodeURIComponent(jcbh)}/attachments/${a.id}" target="_blank">${esc(a.filename)}</a> <span class="muted">${esc(a.uploadedBy)} ${esc(a.at)}</span></li>`).join('');
  $('upload').hidden = !c.allowed.length && state.me.role !== 'analyst' && state.me.role !== 'admin';
  $('history').innerHTML = c.events
    .map((e) => {
      const what = e.kind === 'transition' ? `${state.meta.statuses[e.fromStatus] ?? e.fromStatus} → ${state.meta.statuses[e.toStatus] ?? e.toStatus}` : EVENT_KIND[e.kind] ?? e.kind;
      const fields = Object.entries(e.fields ?? {})
        .filter(([k]) => FIELD_LABEL[k] && k !== 'role')
        .map(([k, v]) => `${FIELD_LABEL[k]}：${esc(v)}`)
        .join('；');
      return `<li data-kind="${esc(e.kind)}" data-to="${esc(e.toStatus ?? '')}"><time>${esc(e.at.replace('T', ' ').replace('Z', ''))}</time> <b>${esc(e.actor)}</b> ${esc(what)}${fields ? ` <span class="fields">${fields}</span>` : ''}${e.note ? ` <q>${esc(e.note)}</q>` : ''}</li>`;
    })
    .join('');
  await showImagery(c).catch(showError);
}

$('actions').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (b) decide(b.dataset.to);
});

// Fields each ruling requires (the server checks them again).
const REASONS = ['云或云影', '季节性差异（收割、翻耕）', '影像配准误差', '水位变化', '其他'];
const DECISION_FIELDS = {
  dispatched: [{ name: 'deadline', label: '核查期限', type: 'date' }],
  legal: [{ name: 'approvalNo', label: '批准文号', required: true }],
  illegal: [{ name: 'illegalKind', label: '违法类型', options: ['新增', '存量'], required: true }],
  false_change: [{ name: 'reason', label: '伪变化原因', required: true, list: REASONS }],
  facility: [{ name: 'filingNo', label: '设施农用地备案编号' }],
  rectifying: [{ name: 'deadline', label: '整改期限', type: 'date' }],
  rectified: [{ name: 'evidence', label: '整改材料说明', required: true }],
};

function decide(to) {
  const c = state.current;
  if (!c || !c.allowed.some((a) => a.to === to)) {
    message(`当前状态（${c?.statusLabel ?? '无'}）不能执行该操作`, true);
    return;
  }
  const fields = DECISION_FIELDS[to] ?? [];
  $('decision').dataset.to = to;
  $('decision-title').textContent = `${state.meta.statuses[c.status]} → ${state.meta.statuses[to]}`;
  $('decision-fields').innerHTML = fields
    .map((f) => {
      const id = `d-${f.name}`;
      const input = f.options
        ? `<select id="${id}" name="${f.name}">${f.options.map((o) => `<option>${esc(o)}</option>`).join('')}</select>`
        : `<input id="${id}" name="${f.name}" type="${f.type ?? 'text'}" ${f.required ? 'required' : ''} ${f.list ? `list="${id}-list"` : ''}>` +
          (f.list ? `<datalist id="${id}-list">${f.list.map((o) => `<option value="${esc(o)}">`).join('')}</datalist>` : '');
      return `<label>${esc(f.label)}${f.required ? ' *' : ''} ${input}</label>`;
    })
    .join('');
  $('decision-note').value = '';
  $('decision').hidden = false;
  ($('decision-fields').querySelector('input,select') ?? $('decision-note')).focus();
}

function hideDecision() {
  $('decision').hidden = true;
  $('decision').dataset.to = '';
}

$('decision-cancel').addEventListener('click', hideDecision);
$('decision').addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    hideDecision();
    e.stopPropagation();
  }
});
$('decision').addEventListener('submit', async (e) => {
  e.preventDefault();
  const c = state.current;
  const to = $('decision').dataset.to;
  const fields = {};
  for (const el of $('decision-fields').querySelectorAll('input,select')) if (el.value) fields[el.name] = el.value;
  try {
    await api(`/api/cases/${encodeURIComponent(c.jcbh)}/transition`, { method: 'POST', json: { to, fields, note: $('decision-note').value || undefined, expectedVersion: c.version } });
    hideDecision();
    $('case-list').focus();
    message(`已提交：${c.jcbh} ${state.meta.statuses[to]}`);
    await openCase(c.jcbh);
    await loadList(true);
  } catch (err) {
    if (err.status === 409) {
      message(`冲突：${err.message}。已重新加载该图斑。`, true);
      await openCase(c.jcbh);
      return;
    }
    message(err.message, true);
  }
});

$('upload').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = $('upload-file').files[0];
  if (!f || !state.current) return;
  try {
    await api(`/api/cases/${encodeURIComponent(state.current.jcbh)}/attachments`, { method: 'POST', body: f, headers: { 'Content-Type': f.type, 'X-Filename': encodeURIComponent(f.name) } });
    await openCase(state.current.jcbh);
    message(`已上传：${f.name}`);
  } catch (err) {
    message(err.message, true);
  }
});

function message(text, isError = false) {
  $('message').textContent = text;
  $('message').classList.toggle('error', isError);
}
const showError = (err) => message(err.message ?? String(err), true);

// ---- maps --------------------------------------------------------------------------------------
function newMap(container) {
  return new maplibregl.Map({
    container,
    style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#1b1f23' } }] },
    center: [120, 32],
    zoom: 12,
    attributionControl: false,
    fadeDuration: 0,
  });
}

function setupMaps() {
  const before = newMap('map-before');
  const after = newMap('map-after');
  // Side-by-side compare: moving one map moves the other.
  let syncing = false;
  const sync = (from, to) =>
    from.on('move', () => {
      if (syncing) return;
      syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      syncing = false;
    });
  sync(before, after);
  sync(after, before);
  state.maps = { before, after };
  window.__maps = state.maps;
}

const onceLoaded = (map) => (map.loaded() ? Promise.resolve() : new Promise((r) => map.once('load', r)));

async function showImagery(c) {
  const im = await api(`/api/cases/${encodeURIComponent(c.jcbh)}/imagery`);
  $('before-label').textContent = `前时相 ${im.beforeDate ?? ''}`;
  $('after-label').textContent = `后时相 ${im.afterDate ?? ''}`;
  const [w, s, e, n] = im.bbox;
  const pad = 0.01;
  const bounds = [w - pad, s - pad, e + pad, n + pad];
  const base = `/api/cases/${encodeURIComponent(c.jcbh)}/tiles`;
  for (const when of ['before', 'after']) {
    const map = state.maps[when];
    await onceLoaded(map);
    for (const id of ['case-line', 'landuse', 'change', 'imagery']) if (map.getLayer(id)) map.removeLayer(id);
    for (const id of ['case', 'landuse', 'change', 'imagery']) if (map.getSource(id)) map.removeSource(id);
    const raster = (layer) => ({ type: 'raster', tiles: [`${base}/${layer}/{z}/{x}/{y}.png`], tileSize: 256, bounds, minzoom: 10, maxzoom: 20 });
    if (im.layers.includes(`${when}-${state.style}`)) {
      map.addSource('imagery', raster(`${when}-${state.style}`));
      map.addLayer({ id: 'imagery', type: 'raster', source: 'imagery' });
    }
    if (im.layers.includes('landuse')) {
      map.addSource('landuse', raster('landuse'));
      map.addLayer({ id: 'landuse', type: 'raster', source: 'landuse', paint: { 'raster-opacity': 0.6 }, layout: { visibility: $('show-landuse').checked ? 'visible' : 'none' } });
    }
    if (when === 'after' && im.layers.includes('change')) {
      map.addSource('change', raster('change'));
      map.addLayer({ id: 'change', type: 'raster', source: 'change', paint: { 'raster-opacity': 0.55 }, layout: { visibility: $('show-change').checked ? 'visible' : 'none' } });
    }
    map.addSource('case', { type: 'geojson', data: { type: 'Feature', properties: {}, geometry: { type: 'MultiPolygon', coordinates: c.geometryLonLat } } });
    map.addLayer({ id: 'case-line', type: 'line', source: 'case', paint: { 'line-color': '#ffdd00', 'line-width': 2 } });
  }
  fitCase();
}

function fitCase() {
  const c = state.current;
  if (!c || !state.maps) return;
  const [w, s, e, n] = c.bbox;
  state.maps.after.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 18, duration: 0 });
}

for (const r of document.querySelectorAll('input[name=style]'))
  r.addEventListener('change', () => {
    state.style = r.value;
    if (state.current) showImagery(state.current).catch(showError);
  });
for (const [box, layer] of [['show-change', 'change'], ['show-landuse', 'landuse']])
  $(box).addEventListener('change', () => {
    for (const m of Object.values(state.maps)) if (m.getLayer(layer)) m.setLayoutProperty(layer, 'visibility', $(box).checked ? 'visible' : 'none');
  });

// ---- keyboard triage ---------------------------------------------------------------------------
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLElement && (t.matches('input, select, textarea') || t.isContentEditable)) return;
  if ($('app').hidden) return;
  const c = state.current;
  switch (e.key) {
    case 'j':
    case 'ArrowDown':
      select(Math.min(state.rows.length - 1, state.index + 1)).catch(showError);
      break;
    case 'k':
    case 'ArrowUp':
      select(Math.max(0, state.index - 1)).catch(showError);
      break;
    case 'c': {
      // Confirm: the next step forward for the case (dispatch a clue, rule a checked one illegal, close a rectified one).
      const next = { pending: 'dispatched', dispatched: 'illegal', illegal: 'rectifying', rectifying: 'rectified', rectified: 'closed', legal: 'closed', false_change: 'closed', facility: 'closed', rural_road: 'closed' }[c?.status];
      if (next) decide(next);
      break;
    }
    case 'x':
      decide('false_change');
      break;
    case 'l':
      decide('legal');
      break;
    case 'm':
      fitCase();
      break;
    case '?':
      $('help').showModal();
      break;
    default:
      return;
  }
  e.preventDefault();
});
$('help-button').addEventListener('click', () => $('help').showModal());
$('help-close').addEventListener('click', () => $('help').close());

// ---- start -------------------------------------------------------------------------------------
const option = (value, label) => `<option value="${esc(value)}">${esc(label)}</option>`;

async function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  $('me').textContent = `${state.me.displayName ?? state.me.username}（${state.me.roleLabel}${state.me.xzqdm ? ` · ${state.me.xzqdm}` : ''}）`;
  const [meta, runs, towns] = await Promise.all([api('/api/meta'), api('/api/runs'), api('/api/townships')]);
  state.meta = meta;
  $('f-run').innerHTML = option('', '全部') + runs.runs.map((r) => option(r.id, `#${r.id} ${r.beforeDate ?? ''}→${r.afterDate ?? ''}`)).join('');
  $('f-xzqdm').innerHTML = option('', '全部') + towns.townships.map((t) => option(t.xzqdm, `${t.xzqmc ?? t.xzqdm}（${t.cases}）`)).join('');
  $('f-tblx').innerHTML = option('', '全部') + Object.entries(meta.changeTypes).map(([k, v]) => option(k, v)).join('');
  $('f-status').innerHTML = option('', '全部') + Object.entries(meta.statuses).map(([k, v]) => option(k, v)).join('');
  if (!state.maps) setupMaps();
  await loadList(false);
  $('case-list').focus();
}

(async () => {
  try {
    const r = await api('/api/me');
    state.me = r.user;
    state.csrf = r.csrfToken;
    await start();
  } catch {
    showLogin();
  }
})();
