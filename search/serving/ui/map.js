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
  labels.replaceChildren(...data.topics.filter((t) => t.x !== null).map((t, i) => {
    const label = document.createElement('span');
    label.className = 'atlas-topic';
    label.textContent = t.label;
    const [px, py] = at(f, t.x, t.y);
    label.style.left = px + 'px'; label.style.top = py + 'px';
    label.style.borderColor = colourBy === 'topic' ? (PALETTE[i] || OTHER) : 'transparent';
    return label;
  }));
  root.querySelector('.atlas-note').textContent = (props.value && props.value.note) || '';
  legend();
  root.dataset.drawn = String(data.ids.length);
}

function legend() {
  const box = root.querySelector('.atlas-legend');
  if (colourBy !== 'country') { box.replaceChildren(); return; }
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

function timeline() {
  const aside = root.querySelector('.atlas-timeline');
  const t = data.timeline;
  const most = Math.max(1, ...t.bins.map((b) => b.count));
  const heading = document.createElement('h3');
  heading.textContent = data.texts.map_timeline;
  const rows = t.bins.map((b) => {
    const row = document.createElement('div');
    row.className = 'atlas-bar';
    row.dataset.count = String(b.count);
    const when = new Date(b.start + 'T00:00:00Z');
    const options = t.unit === 'D' ? {day: 'numeric', month: 'short', timeZone: 'UTC'}
      : t.unit === 'M' ? {month: 'short', year: 'numeric', timeZone: 'UTC'} : {year: 'numeric', timeZone: 'UTC'};
    row.innerHTML = '<span class="when"></span><span class="track"><i></i></span><span class="n"></span>';
    row.querySelector('.when').textContent = when.toLocaleDateString(document.documentElement.lang || undefined, options);
    row.querySelector('i').style.width = (100 * b.count / most) + '%';
    row.querySelector('.n').textContent = String(b.count);
    const days = [Date.parse(b.start) / 864e5, Date.parse(b.end) / 864e5];
    row.addEventListener('mouseenter', () => { period = days; draw(); });
    row.addEventListener('mouseleave', () => { period = null; draw(); });
    return row;
  });
  const undated = document.createElement('p');
  undated.className = 'atlas-undated';
  undated.textContent = data.texts.map_undated.replace('{n:,}', t.undated.toLocaleString());
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
new ResizeObserver(() => { load(); draw(); }).observe(plot);
watch('value', draw);
// For tests and tools: where a story's point is drawn, in page coordinates.
root.atlas = {
  screenPoint(id) {
    const i = data.ids.indexOf(id), f = frame(), box = plot.getBoundingClientRect();
    const [px, py] = at(f, data.x[i], data.y[i]);
    return {x: box.left + px, y: box.top + py};
  },
};
