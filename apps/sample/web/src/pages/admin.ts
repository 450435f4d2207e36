// Admin page (admin.html): the events API's admin events through the SDK's RealtimeEventsClient.
// The global stats come from `rt_sync` (on connecting and after every reconnection) and
// rt_global_stats_updated; people signing in and out from rt_user_logged_in / rt_user_logged_out.
// The server sends these events to admins only: a non-admin is told so by the page.
import type { GlobalStats } from 'nest-realtime-client';
import { byId, clock, el } from '../dom';
import { sdk } from '../sdk';
import { mountHeader, requireSession } from '../session';

/** The page this client declares (admins receive the admin events whatever their page). */
const PAGE = 'admin';
/** Sign-ins and sign-outs kept on screen, newest first. */
const MAX_ROWS = 50;

const session = requireSession();
const { state } = mountHeader(session, '/admin.html');
const view = byId('admin-view', HTMLElement);
const adminOnly = byId('admin-only', HTMLElement);
const errorLine = byId('admin-error', HTMLElement);
const list = byId('sign-ins', HTMLOListElement);
const empty = byId('sign-ins-empty', HTMLElement);

const client = new sdk.RealtimeEventsClient({ url: location.origin, token: session.token, page: PAGE });

function renderStats(stats: GlobalStats): void {
  const figures: Record<string, number> = {
    totalUsers: stats.totalUsers,
    activeUsers: stats.activeUsers,
    connections: stats.connections,
    socketIo: stats.connectionsByTransport.socketIo,
    ws: stats.connectionsByTransport.ws,
  };
  for (const [name, value] of Object.entries(figures))
    byId(`stat-${name}`, HTMLElement).textContent = String(value);
}

/** A sign-in or sign-out at the top of the list, the oldest dropped beyond MAX_ROWS. */
function addRow(name: string, action: 'signed in' | 'signed out', at: string | number, admin = false): void {
  const item = el(
    'li',
    { className: action === 'signed in' ? 'in' : 'out' },
    el('strong', { text: name }),
    el('span', { text: admin ? `${action} (admin)` : action }),
    el('time', { text: clock(at, true), title: new Date(at).toISOString() }),
  );
  item.dataset.user = name;
  list.prepend(item);
  while (list.children.length > MAX_ROWS) list.lastElementChild?.remove();
  empty.hidden = true;
}

client.on('rt_global_stats_updated', ({ stats }) => renderStats(stats));
client.on('rt_user_logged_in', ({ name, isAdmin }) => addRow(name, 'signed in', Date.now(), isAdmin));
client.on('rt_user_logged_out', ({ name, logoutTime }) => addRow(name, 'signed out', logoutTime));

// The server's word on who this is, and the stats, on connecting and after every reconnection.
client.onStateChange(({ to }) => {
  state.textContent = to === sdk.ConnectionState.ACTIVE ? 'online' : to.toLowerCase();
  state.dataset.state = to;
  if (to !== sdk.ConnectionState.ACTIVE) return;
  client.sync().then(({ user, stats }) => {
    adminOnly.hidden = user.isAdmin;
    view.hidden = !user.isAdmin;
    if (stats) renderStats(stats);
  }, showError);
});

function showError(error: unknown): void {
  errorLine.textContent = error instanceof Error ? error.message : String(error);
  errorLine.hidden = false;
}

client.connect().catch(showError);
