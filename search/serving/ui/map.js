// The map of the collection: run by Gradio's gr.HTML with `element`, `trigger`, `props`, `server`, `watch`.
// Points are fetched once, when the map is first visible; props.value carries a search's answers.
const root = element.querySelector('.atlas');
const plot = root.querySelector('.atlas-plot');
const canvas = plot.querySelector('canvas');
const labels = plot.querySelector('.atlas-labels');
const tip = plot.querySelector('.atlas-tip');
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#7f7f7f', '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#9edae5',
  '#dbdb8d', '#393b79'];
const OTHER = '#c7ccd4';
const PAD = 14, CELL = 12, REACH = 8;
let data = null, colourBy = 'topic', period = null, grid = new Map(), loading = false;

const colourOf = (i) => {
  const c = colourBy === 'topic' ? data.topic[i] : data.country[i];
  return c >= 0 && c < PALETTE.length ? PALETTE[c] : OTHER;
};

function frame() {
  const box = plot.getBoundingClientRect();
  const side = Math.max(0, Math.min(box.width, box.height || box.width) - 2 * PAD);
  return {box, side, left: (box.width - side) / 2, top: PAD};
}

function at(f, x, y) {
  return [f.left + x * f.side, f.top + y * f.side];
}

function draw() {
  if (!data || !data.ids) return;
  const f = frame();
  if (!f.side) return;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = f.box.width * ratio; canvas.height = f.box.height * ratio;
  canvas.style.width = f.box.width + 'px'; canvas.style.height = f.box.height + 'px';
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, f.box.width, f.box.height);
  grid = new Map();
  const hits = (props.value && props.value.hits) || [];
  const dim = hits.length > 0 || period !== null;
  const size = data.ids.length > 5000 ? 2 : data.ids.length > 1000 ? 4 : 7;
  for (let i = 0; i < data.ids.length; i++) {
    const [px, py] = at(f, data.x[i], data.y[i]);
    const inPeriod = period === null || (data.day[i] >= period[0] && data.day[i] <= period[1]);
    ctx.globalAlpha = dim && !(period !== null && inPeriod) ? 0.35 : 0.9;
    ctx.fillStyle = colourOf(i);
    ctx.fillRect(px - size / 2, py - size / 2, size, size);
    const key = Math.floor(px / CELL) + ',' + Math.floor(py / CELL);
    if (!grid.has(key)) grid.set(key, []);
    grid.get(key).push(i);
  }
  ctx.globalAlpha = 1;
  ctx.lineWidth = 2;
  hits.forEach((hit, rank) => {
    const [px, py] = at(f, hit.x, hit.y);
    ctx.strokeStyle = rank === 0 ? '#111827' : '#374151';
    ctx.beginPath(); ctx.arc(px, py, rank === 0 ? 9 : 6, 0, 2 * Math.PI); ctx.stroke();
  });
  root.dataset.highlighted = String(hits.length);
  placeLabels(f);
  root.querySelector('.atlas-note').textContent = (props.value && props.value.note) || '';
  legend();
  root.dataset.drawn = String(data.ids.length);
}

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
const clamp = (v, low, high) => Math.max(low, Math.min(v, high));

function topicButton(t, i, className) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = className;
  button.dataset.topic = String(i);
  button.textContent = t.label;
  button.title = data.texts.map_topics_hint;
  button.addEventListener('click', (event) => { event.stopPropagation(); trigger('select', {topic: i}); });
  return button;
}

// Topic labels, largest topic first, each at its topic's middle or moved up or down until it overlaps no label
// placed before it, always inside the plot (so never over the timeline beside it, nor off a phone's screen);
// a label with no free place is left out (every topic is listed under the map as well).
function placeLabels(f) {
  const width = f.box.width, height = f.box.height;
  const order = data.topics.map((t, i) => [t, i]).filter(([t]) => t.x !== null).sort((a, b) => b[0].size - a[0].size);
  const placed = [];
  labels.replaceChildren();
  for (const [t, i] of order) {
    const label = topicButton(t, i, 'atlas-topic');
    label.style.borderColor = colourBy === 'topic' ? (PALETTE[i] || OTHER) : 'transparent';
    label.style.left = '0px'; label.style.top = '0px';  // measured at its full width, not squeezed at an edge
    labels.append(label);
    const w = Math.min(Math.ceil(label.getBoundingClientRect().width) + 1, width - 4), h = label.offsetHeight;
    const [px, py] = at(f, t.x, t.y);
    let spot = null;
    for (const step of [0, -1, 1, -2, 2, -3, 3]) {
      const left = clamp(px - w / 2, 2, width - w - 2), top = clamp(py - h / 2 + step * (h + 2), 2, height - h - 2);
      const rect = {left, top, right: left + w, bottom: top + h};
      if (!placed.some((other) => overlaps(other, rect))) { spot = rect; break; }
    }
    if (!spot) { label.remove(); continue; }
    placed.push(spot);
    label.style.left = spot.left + 'px'; label.style.top = spot.top + 'px'; label.style.maxWidth = w + 'px';
  }
}

function legend() {
  const box = root.querySelector('.atlas-legend');
  if (colourBy === 'topic') {
    box.replaceChildren(...data.topics.map((t, i) => [t, i]).filter(([t]) => t.size > 0).map(([t, i]) => {
      const item = topicButton(t, i, 'atlas-key atlas-key-topic');
      const swatch = document.createElement('i');
      swatch.style.background = PALETTE[i] || OTHER;
      item.prepend(swatch);
      return item;
    }));
    return;
  }
  const items = data.countries.slice(0, PALETTE.length).map((name, i) => [name, PALETTE[i]]);
  items.push([data.texts.map_no_country, OTHER]);
  box.replaceChildren(...items.map(([name, colour]) => {
    const item = document.createElement('span');
    item.className = 'atlas-key';
    item.innerHTML = '<i></i>';
    item.firstChild.style.background = colour;
    item.append(name);
    return item;
  }));
}

function nearest(clientX, clientY) {
  const box = plot.getBoundingClientRect();
  const x = clientX - box.left, y = clientY - box.top, f = frame();
  let best = -1, bestDistance = REACH * REACH;
  for (let gx = Math.floor((x - REACH) / CELL); gx <= Math.floor((x + REACH) / CELL); gx++) {
    for (let gy = Math.floor((y - REACH) / CELL); gy <= Math.floor((y + REACH) / CELL); gy++) {
      for (const i of grid.get(gx + ',' + gy) || []) {
        const [px, py] = at(f, data.x[i], data.y[i]);
        const d = (px - x) ** 2 + (py - y) ** 2;
        if (d < bestDistance) { best = i; bestDistance = d; }
      }
    }
  }
  return best;
}

const NARROW = 720, PHONE_ROWS = 24;

// Bins of the timeline as shown: on a narrow screen runs of neighbouring periods are joined, so the whole span
// fits in a couple of dozen rows instead of a tall box scrolled on its own.
function shownBins(t) {
  const per = root.getBoundingClientRect().width <= NARROW ? Math.ceil(t.bins.length / PHONE_ROWS) : 1;
  if (per <= 1) return t.bins;
  const joined = [];
  for (let i = 0; i < t.bins.length; i += per) {
    const run = t.bins.slice(i, i + per);
    joined.push({start: run[0].start, end: run[run.length - 1].end, count: run.reduce((n, b) => n + b.count, 0)});
  }
  return joined;
}

function timeline() {
  const aside = root.querySelector('.atlas-timeline');
  const t = data.timeline;
  if (!t.bins.length) {  // nothing dated: no timeline, a line saying why
    aside.hidden = true;
    root.querySelector('.atlas-caption').textContent = data.caption + ' ' + data.texts.map_no_dates;
    return;
  }
  const bins = shownBins(t);
  const most = Math.max(1, ...bins.map((b) => b.count));
  const heading = document.createElement('h3');
  heading.textContent = data.texts.map_timeline;
  const rows = bins.map((b) => {
    const row = document.createElement('div');
    row.className = 'atlas-bar';
    row.dataset.count = String(b.count);
    const when = new Date(b.start + 'T00:00:00Z');
    const options = t.unit === 'D' ? {day: 'numeric', month: 'short', timeZone: 'UTC'}
      : t.unit === 'M' ? {month: 'short', year: 'numeric', timeZone: 'UTC'} : {year: 'numeric', timeZone: 'UTC'};
    row.innerHTML = '<span class="when"></span><span class="track"><i></i></span><span class="n"></span>';
    row.querySelector('.when').textContent = when.toLocaleDateString(data.lang, options);
    row.querySelector('i').style.width = (100 * b.count / most) + '%';
    row.querySelector('.n').textContent = b.count.toLocaleString(data.lang);
    const days = [Date.parse(b.start) / 864e5, Date.parse(b.end) / 864e5];
    row.addEventListener('mouseenter', () => { period = days; draw(); });
    row.addEventListener('mouseleave', () => { period = null; draw(); });
    return row;
  });
  const undated = document.createElement('p');
  undated.className = 'atlas-undated';
  undated.textContent = t.undated ? data.texts.map_undated.replace('{n:,}', t.undated.toLocaleString(data.lang)) : '';
  aside.replaceChildren(heading, ...rows, undated);
}

function controls() {
  const set = root.querySelector('.atlas-colour');
  set.innerHTML = '<legend></legend>';
  set.firstChild.textContent = data.texts.map_colour;
  for (const kind of ['topic', 'country']) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="radio" name="colour-by-${root.id || 'map'}" value="${kind}">`;
    label.firstChild.checked = kind === colourBy;
    label.firstChild.addEventListener('change', () => { colourBy = kind; draw(); });
    label.append(' ' + data.texts['map_' + kind]);
    set.append(label);
  }
}

async function load() {
  if (data || loading || !plot.getBoundingClientRect().width) return;
  loading = true;
  data = await server.points(navigator.language || 'en');
  if (data.missing) { root.querySelector('.atlas-caption').textContent = data.missing; return; }
  root.querySelector('.atlas-caption').textContent = data.caption;
  controls();
  timeline();
  draw();
}

plot.addEventListener('mousemove', (event) => {
  if (!data || !data.ids) return;
  const i = nearest(event.clientX, event.clientY);
  if (i < 0) { tip.hidden = true; plot.style.cursor = 'default'; return; }
  const box = plot.getBoundingClientRect();
  tip.textContent = data.titles[i];
  tip.style.left = (event.clientX - box.left + 12) + 'px';
  tip.style.top = (event.clientY - box.top + 12) + 'px';
  tip.hidden = false;
  plot.style.cursor = 'pointer';
});
plot.addEventListener('mouseleave', () => { tip.hidden = true; });
plot.addEventListener('click', (event) => {
  if (!data || !data.ids) return;
  const i = nearest(event.clientX, event.clientY);
  if (i >= 0) trigger('click', {story_id: data.ids[i]});
});
let narrow = null;
new ResizeObserver(() => {
  load();
  const now = root.getBoundingClientRect().width <= NARROW;
  if (data && data.timeline && now !== narrow) timeline();  // rows joined or split for the new width
  narrow = now;
  draw();
}).observe(plot);
watch('value', draw);
// For tests and tools: where a story's point is drawn, in page coordinates.
root.atlas = {
  screenPoint(id) {
    const i = data.ids.indexOf(id), f = frame(), box = plot.getBoundingClientRect();
    const [px, py] = at(f, data.x[i], data.y[i]);
    return {x: box.left + px, y: box.top + py};
  },
};
