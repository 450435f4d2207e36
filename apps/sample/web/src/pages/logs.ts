// Logs and metrics page (logs.html): the log stream of the session's app through the SDK's
// LogStreamClient. A live tail of the last MAX_LINES lines with a level filter, a search and
// pause/resume, and uPlot charts of the server's CPU, memory, connections and message rate, one point
// per `metrics` frame. The filter and search apply to the lines the page keeps (not the server's
// `subscribe` filter, which would drop lines before they arrive, so that clearing it could not bring
// them back).
import type { LogEntry, PerformanceMetrics } from 'nest-realtime-client';
import uPlot from 'uplot';
// Bundled by esbuild into logs.css, which logs.html links.
import 'uplot/dist/uPlot.min.css';
import { byId, clock, el } from '../dom';
import { sdk } from '../sdk';
import { mountHeader, requireSession } from '../session';

/** Lines kept in the tail; lines held while paused count towards it (older ones are dropped). */
const MAX_LINES = 500;
/** Points kept per chart: one per metrics frame (every 5 s by default, about ten minutes). */
const MAX_POINTS = 120;
const CHART_HEIGHT = 120;

interface ChartSpec {
  id: string;
  label: string;
  /** The figure plotted, from one metrics frame. */
  value(metrics: PerformanceMetrics): number;
  /** The caption's reading of that frame. */
  reading(metrics: PerformanceMetrics): string;
  /** Unit of the y axis's labels. */
  unit: string;
  /** A fixed y range (percentages); otherwise uPlot fits the data. */
  range?: [number, number];
}

const GB = 1024 ** 3;
const CHARTS: ChartSpec[] = [
  {
    id: 'cpu',
    label: 'CPU',
    value: (m) => m.cpu.usage,
    reading: (m) => `${m.cpu.usage.toFixed(1)} % of ${m.cpu.cores} cores`,
    unit: '%',
    range: [0, 100],
  },
  {
    id: 'memory',
    label: 'Memory',
    value: (m) => (100 * m.memory.used) / m.memory.total,
    reading: (m) => `${(m.memory.used / GB).toFixed(1)} of ${(m.memory.total / GB).toFixed(1)} GB`,
    unit: '%',
    range: [0, 100],
  },
  {
    id: 'connections',
    label: 'Connections',
    value: (m) => m.network.connections,
    reading: (m) => `${m.network.connections} open, ${m.activeConnections} signed in`,
    unit: '',
  },
  {
    id: 'messages',
    label: 'Message rate',
    value: (m) => m.messageRate,
    reading: (m) => `${m.messageRate.toFixed(1)} messages/s`,
    unit: '/s',
  },
];

const session = requireSession();
const { state } = mountHeader(session, '/logs.html');
const view = byId('logs-view', HTMLElement);
const errorLine = byId('logs-error', HTMLElement);
const chartsSection = byId('charts', HTMLElement);
const controls = byId('log-controls', HTMLFormElement);
const levelSelect = controls.elements.namedItem('level') as HTMLSelectElement;
const searchInput = controls.elements.namedItem('search') as HTMLInputElement;
const pauseButton = byId('pause', HTMLButtonElement);
const countLine = byId('log-count', HTMLElement);
const pausedNote = byId('paused-note', HTMLElement);
const list = byId('log-lines', HTMLOListElement);

/** The lines on screen, oldest first, each with its row (hidden when the filter excludes it). */
const tail: Array<{ entry: LogEntry; row: HTMLLIElement }> = [];
/** Lines received while paused, shown on resume. */
const held: LogEntry[] = [];
let paused = false;

function matches(entry: LogEntry): boolean {
  const level = levelSelect.value;
  const search = searchInput.value.trim().toLowerCase();
  return (
    (level === '' || entry.level.toLowerCase() === level) &&
    (search === '' || entry.message.toLowerCase().includes(search))
  );
}

function renderLine(entry: LogEntry): HTMLLIElement {
  const row = el(
    'li',
    {},
    el('time', { text: clock(entry.timestamp, true), title: new Date(entry.timestamp).toISOString() }),
    el('span', { className: 'level', text: entry.level }),
    el('span', { className: 'log-message', text: entry.message }),
    ...(entry.metadata === undefined
      ? []
      : [el('small', { className: 'metadata', text: JSON.stringify(entry.metadata) })]),
  );
  row.dataset.level = entry.level.toLowerCase();
  row.hidden = !matches(entry);
  return row;
}

/** Appends lines at the bottom, drops the oldest beyond MAX_LINES, and follows the tail when at its end. */
function append(entries: LogEntry[]): void {
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const rows = entries.map((entry) => {
    const row = renderLine(entry);
    tail.push({ entry, row });
    return row;
  });
  list.append(...rows);
  for (const { row } of tail.splice(0, Math.max(0, tail.length - MAX_LINES))) row.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
  renderCount();
}

function applyFilter(): void {
  for (const { entry, row } of tail) row.hidden = !matches(entry);
  renderCount();
}

function renderCount(): void {
  const shown = tail.filter(({ row }) => !row.hidden).length;
  countLine.textContent =
    tail.length === 0
      ? 'No log line yet.'
      : shown === tail.length
        ? `${tail.length} ${tail.length === 1 ? 'line' : 'lines'}.`
        : `${shown} of ${tail.length} lines match.`;
  pausedNote.textContent = `Paused: ${held.length} new ${held.length === 1 ? 'line' : 'lines'} held.`;
  pausedNote.hidden = !paused;
}

function setPaused(value: boolean): void {
  paused = value;
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  pauseButton.setAttribute('aria-pressed', String(paused));
  if (!paused) append(held.splice(0));
  renderCount();
}

/** One chart: a caption with the latest reading, and a uPlot line of the last MAX_POINTS frames. */
function createChart(spec: ChartSpec) {
  const reading = el('span', { className: 'reading', text: '—' });
  const box = el('div', { className: 'plot' });
  const figure = el('figure', { className: 'chart' }, el('figcaption', { text: spec.label }, reading), box);
  figure.id = `chart-${spec.id}`;
  figure.dataset.points = '0';
  chartsSection.append(figure);
  const times: number[] = [];
  const values: number[] = [];
  const plot = new uPlot(
    {
      width: box.clientWidth,
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: true }, ...(spec.range ? { y: { range: spec.range } } : {}) },
      // Room on the right for the label of the newest point's time.
      padding: [8, 40, 0, 0],
      axes: [
        {
          // The window's first and last times, on the reader's clock (uPlot's default ticks add the date).
          size: 30,
          splits: (_, __, min, max) => (min === max ? [min] : [min, max]),
          values: (_, ticks) => ticks.map((at) => clock(at * 1000, true)),
        },
        { size: 48, values: (_, ticks) => ticks.map((value) => `${value}${spec.unit}`) },
      ],
      series: [{}, { label: spec.label, stroke: '#2357d9', fill: 'rgba(35, 87, 217, 0.1)', width: 2 }],
    },
    [times, values],
    box,
  );
  new ResizeObserver(() => plot.setSize({ width: box.clientWidth, height: CHART_HEIGHT })).observe(box);
  return (metrics: PerformanceMetrics): void => {
    // uPlot's time scale is in seconds.
    times.push(metrics.timestamp / 1000);
    values.push(spec.value(metrics));
    if (times.length > MAX_POINTS) {
      times.shift();
      values.shift();
    }
    plot.setData([times, values]);
    reading.textContent = spec.reading(metrics);
    // What the chart holds, for the reader's tools and the browser tests.
    figure.dataset.points = String(plot.data[0].length);
  };
}

function showError(error: unknown): void {
  errorLine.textContent = error instanceof Error ? error.message : String(error);
  errorLine.hidden = false;
}

if (session.user.appId === null) {
  // The stream refuses a token without an app id (auth_error): say so instead of connecting.
  byId('logs-no-app', HTMLElement).hidden = false;
  state.textContent = 'no app id';
} else {
  view.hidden = false;
  const charts = CHARTS.map(createChart);
  const client = new sdk.LogStreamClient({ url: location.origin, token: session.token });
  client.on('logs', (entries) => {
    if (!paused) {
      append(entries);
      return;
    }
    held.push(...entries);
    held.splice(0, Math.max(0, held.length - MAX_LINES));
    renderCount();
  });
  client.on('metrics', (metrics) => charts.forEach((update) => update(metrics)));
  client.on('error', ({ message }) => showError(message));
  // After a restart of the server the SDK reconnects; the backlog it resends is not delivered twice.
  client.onStateChange(({ to }) => {
    state.textContent = to === sdk.ConnectionState.ACTIVE ? 'online' : to.toLowerCase();
    state.dataset.state = to;
    if (to === sdk.ConnectionState.ACTIVE) errorLine.hidden = true;
  });
  levelSelect.addEventListener('change', applyFilter);
  searchInput.addEventListener('input', applyFilter);
  controls.addEventListener('submit', (event) => event.preventDefault());
  pauseButton.addEventListener('click', () => setPaused(!paused));
  client.connect().catch(showError);
}
