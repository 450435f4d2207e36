// Sign in and out through the sample's development login (POST /auth/login, POST /auth/logout), the
// token kept in localStorage for the other pages, and the header every page shares.
import { byId, el } from './dom';

/** The answer of POST /auth/login (apps/sample/src/auth/auth.service.ts, LoginResult). */
export interface LoginResult {
  token: string;
  expiresIn: number;
  user: { id: string; username: string; email: string | null; isAdmin: boolean; appId: string | null };
}

export interface Session extends LoginResult {
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

const STORAGE_KEY = 'nest-realtime-sample.session';

/** The pages of the header's navigation, by file; the admin page is linked for admins only. */
const PAGES: ReadonlyArray<{ href: string; label: string; adminOnly?: boolean }> = [
  { href: '/chat.html', label: 'Chat' },
  { href: '/rooms.html', label: 'Rooms' },
  { href: '/modules.html', label: 'Modules' },
  { href: '/logs.html', label: 'Logs' },
  { href: '/admin.html', label: 'Admin', adminOnly: true },
];

export function loadSession(): Session | null {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (!stored) return null;
  const session = JSON.parse(stored) as Session;
  if (session.expiresAt <= Date.now()) {
    localStorage.removeItem(STORAGE_KEY);
    return null;
  }
  return session;
}

/** The session of a page that needs one; without one, back to the sign-in page. */
export function requireSession(): Session {
  const session = loadSession();
  if (!session) {
    location.replace('/');
    throw new Error('not signed in');
  }
  return session;
}

export async function signIn(username: string, appId: string): Promise<Session> {
  const response = await fetch('/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(appId ? { username, appId } : { username }),
  });
  if (!response.ok) throw new Error(await errorText(response));
  const login = (await response.json()) as LoginResult;
  const session: Session = { ...login, expiresAt: Date.now() + login.expiresIn * 1000 };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

export async function signOut(session: Session): Promise<void> {
  localStorage.removeItem(STORAGE_KEY);
  // The server only announces the sign-out (rt_user_logged_out): a failure does not keep anyone in.
  await fetch('/auth/logout', {
    method: 'POST',
    headers: { authorization: `Bearer ${session.token}` },
  }).catch(() => undefined);
  location.assign('/');
}

/** Fills the page's <header id="top">: navigation, who is signed in, the connection state, sign out. */
export function mountHeader(session: Session, current: string): { state: HTMLElement } {
  const header = byId('top', HTMLElement);
  const nav = el('nav');
  for (const page of PAGES.filter((entry) => !entry.adminOnly || session.user.isAdmin)) {
    const link = el('a', { text: page.label });
    link.href = page.href;
    if (page.href === current) link.setAttribute('aria-current', 'page');
    nav.append(link);
  }
  const state = el('span', { className: 'state', text: 'connecting' });
  state.id = 'connection-state';
  const button = el('button', { text: 'Sign out' });
  button.type = 'button';
  button.id = 'sign-out';
  button.addEventListener('click', () => void signOut(session));
  const who = el('span', { className: 'who', text: session.user.username });
  who.id = 'whoami';
  header.append(nav, el('div', { className: 'account' }, state, who, button));
  return { state };
}

/** A call to the sample's REST API with the session's token; rejects with the server's message. */
export async function api(session: Session, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorText(response));
  return response.status === 204 ? undefined : response.json();
}

/** The message of an HTTP error: Nest's `message` (a string or a list of validation messages). */
async function errorText(response: Response): Promise<string> {
  const body = (await response.json().catch(() => ({}))) as { message?: string | string[] };
  const message = Array.isArray(body.message) ? body.message.join(', ') : body.message;
  return message ?? `${response.status} ${response.statusText}`;
}
