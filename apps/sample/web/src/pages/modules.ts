// Modules page (modules.html): the events API's modules page through the SDK's RealtimeEventsClient.
// The list is the server's `rt_sync` state, kept live by the rt_module_* and rt_telemetry_updated
// events; one row per module id, whatever arrives twice.
import type { ModuleStateSnapshot } from 'nest-realtime-client';
import { byId, clock, el } from '../dom';
import { sdk } from '../sdk';
import { api, mountHeader, requireSession } from '../session';

/** The events API's modules page (the library's default `events.modulesPage`). */
const PAGE = 'modules';

interface ModuleRow extends ModuleStateSnapshot {
  /** When this page last heard of the module (epoch ms). */
  updatedAt: number;
}

const session = requireSession();
const { state } = mountHeader(session, '/modules.html');
const table = byId('modules', HTMLTableSectionElement);
const empty = byId('modules-empty', HTMLElement);
const errorLine = byId('modules-error', HTMLElement);
const form = byId('add-module', HTMLFormElement);

const client = new sdk.RealtimeEventsClient({ url: location.origin, token: session.token, page: PAGE });
const modules = new Map<string, ModuleRow>();

function render(): void {
  const rows = [...modules.values()].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  table.replaceChildren(...rows.map(renderRow));
  empty.hidden = rows.length > 0;
}

function renderRow(module: ModuleRow): HTMLTableRowElement {
  const telemetry = Object.entries(module.telemetry ?? {})
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  const row = el(
    'tr',
    {},
    el(
      'td',
      {},
      el('strong', { text: module.definition?.name ?? module.moduleId }),
      el('br'),
      el('small', { text: module.moduleId }),
    ),
    el('td', { text: module.definition?.type ?? '' }),
    el('td', { className: `status ${module.status ?? 'unknown'}`, text: module.status ?? '—' }),
    el('td', { className: 'telemetry', text: telemetry }),
    el('td', { text: clock(module.updatedAt, true) }),
  );
  row.dataset.moduleId = module.moduleId;
  return row;
}

/** Merges what an event says about a module into its row (created by the first event about it). */
function update(moduleId: string, change: Partial<ModuleStateSnapshot>): void {
  const row = modules.get(moduleId) ?? { moduleId, updatedAt: Date.now() };
  modules.set(moduleId, { ...row, ...change, moduleId, updatedAt: Date.now() });
  render();
}

client.on('rt_module_added', ({ moduleId, name, type }) => update(moduleId, { definition: { name, type } }));
client.on('rt_module_updated', ({ moduleId, name, type }) =>
  update(moduleId, { definition: { name, type } }),
);
client.on('rt_module_online', ({ moduleId }) => update(moduleId, { status: 'online' }));
client.on('rt_module_offline', ({ moduleId }) => update(moduleId, { status: 'offline' }));
client.on('rt_telemetry_updated', ({ moduleId, telemetry }) => update(moduleId, { telemetry }));
client.on('rt_module_removed', ({ moduleId }) => {
  modules.delete(moduleId);
  render();
});

// The whole list from the server on connecting and after every reconnection (events missed meanwhile).
client.onStateChange(({ to }) => {
  state.textContent = to === sdk.ConnectionState.ACTIVE ? 'online' : to.toLowerCase();
  state.dataset.state = to;
  if (to !== sdk.ConnectionState.ACTIVE) return;
  client.sync().then(({ modules: snapshot }) => {
    modules.clear();
    for (const module of snapshot) modules.set(module.moduleId, { ...module, updatedAt: Date.now() });
    render();
  }, showError);
});

function showError(error: unknown): void {
  errorLine.textContent = error instanceof Error ? error.message : String(error);
  errorLine.hidden = false;
}

// Adding a module goes through the sample's REST API; the row appears from the rt_module_added event.
form.addEventListener('submit', (event) => {
  event.preventDefault();
  const field = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
  api(session, 'POST', '/modules', {
    moduleId: field('moduleId'),
    name: field('name'),
    type: field('type'),
  }).then(() => {
    form.reset();
    errorLine.hidden = true;
  }, showError);
});

render();
client.connect().catch(showError);
