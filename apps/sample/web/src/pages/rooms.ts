// Rooms page (rooms.html): rooms and direct messages over the raw WebSocket endpoint through the SDK's
// RoomsClient. The SDK rejoins the rooms after a drop and delivers what was missed once, in order; the
// page keeps each conversation's messages by id, fetches older history pages when the list is scrolled
// to its top, and shows images, audio and reactions for what they are.
import type { HistoryMessage, WireUserId } from 'nest-realtime-client';
import { byId, clock, el } from '../dom';
import { sdk } from '../sdk';
import { mountHeader, requireSession } from '../session';

/** The room every user starts in (the library's default `rooms.initial`). */
const LOBBY = 'general';
/** Messages per history page. */
const PAGE_SIZE = 20;
/** The reaction the page offers on every message. */
const REACTION = '👍';
/** Within this many pixels of the list's top older messages are fetched; of its bottom, new ones stay in view. */
const EDGE_PX = 40;

/** A room or a direct conversation, with the messages the page holds (reactions included), by id. */
interface Conversation {
  kind: 'room' | 'dm';
  /** The room's name, or the other user's id. */
  id: string;
  messages: Map<number, HistoryMessage>;
  /** Whether the first history page arrived. */
  opened: boolean;
  hasOlder: boolean;
  loading: boolean;
  unread: number;
}

const session = requireSession();
const { state } = mountHeader(session, '/rooms.html');
const roomsList = byId('rooms', HTMLUListElement);
const directList = byId('direct', HTMLUListElement);
const title = byId('conversation-title', HTMLElement);
const syncNote = byId('sync-note', HTMLElement);
const messagesList = byId('messages', HTMLOListElement);
const errorLine = byId('rooms-error', HTMLElement);
const composer = byId('composer', HTMLFormElement);
const messageInput = composer.elements.namedItem('message') as HTMLInputElement;
const joinForm = byId('join-room', HTMLFormElement);
const directForm = byId('open-direct', HTMLFormElement);
byId('my-id', HTMLElement).textContent = session.user.id;

const client = new sdk.RoomsClient({ url: location.origin, token: session.token });
const conversations = new Map<string, Conversation>();
/** Usernames by user id, learned from messages: the names of the direct conversations. */
const names = new Map<string, string>();
/** First line of the message list: whether older messages remain. */
const historyStatus = el('li', { className: 'history-status' });
let current: Conversation | undefined;
let wasOnline = false;

function conversation(kind: Conversation['kind'], id: string): Conversation {
  const key = `${kind}:${id}`;
  let found = conversations.get(key);
  if (!found) {
    found = { kind, id, messages: new Map(), opened: false, hasOlder: true, loading: false, unread: 0 };
    conversations.set(key, found);
  }
  return found;
}

function nameOf(conversation: Conversation): string {
  return conversation.kind === 'room'
    ? conversation.id
    : (names.get(conversation.id) ?? `user ${conversation.id}`);
}

function isMine(message: HistoryMessage): boolean {
  return String(message.user_id) === session.user.id;
}

function renderLists(): void {
  const entries = (kind: Conversation['kind']) =>
    [...conversations.values()]
      .filter((conversation) => conversation.kind === kind)
      .map((conversation) => {
        const button = el('button', { text: nameOf(conversation) });
        button.type = 'button';
        if (conversation === current) button.setAttribute('aria-current', 'true');
        button.addEventListener('click', () => open(conversation));
        const badge =
          conversation.unread > 0
            ? [el('span', { className: 'badge', text: String(conversation.unread) })]
            : [];
        const item = el('li', {}, button, ...badge);
        item.dataset.conversation = `${kind}:${conversation.id}`;
        return item;
      });
  roomsList.replaceChildren(...entries('room'));
  directList.replaceChildren(...entries('dm'));
  if (current) title.textContent = current.kind === 'room' ? `# ${current.id}` : `@ ${nameOf(current)}`;
}

/**
 * A media URL the page loads: of its own origin or https. The server allows a relative path or an
 * https URL; resolving it here also keeps out a path such as `/\host/x.png`, which browsers read as
 * another host.
 */
function mediaSource(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let resolved: URL;
  try {
    resolved = new URL(url, location.href);
  } catch {
    return undefined; // not a URL: the message is shown as its text
  }
  return resolved.origin === location.origin || resolved.protocol === 'https:' ? resolved.href : undefined;
}

function renderBody(message: HistoryMessage): HTMLElement[] {
  const text = el('p', { className: 'text', text: message.content });
  const source = mediaSource(message.media_url);
  if (message.message_type === 'image' && source) {
    const image = el('img', { className: 'media' });
    image.src = source;
    image.alt = message.content || 'image';
    return message.content ? [image, text] : [image];
  }
  if (message.message_type === 'audio' && source) {
    const audio = el('audio', { className: 'media' });
    audio.controls = true;
    audio.preload = 'none';
    audio.src = source;
    const length = el('small', { className: 'duration', text: `${message.duration ?? '?'} s` });
    return message.content ? [audio, text, length] : [audio, length];
  }
  return [text];
}

/** The reactions to a message, one chip per emoji with its count, and the button to add one. */
function renderReactions(conversation: Conversation, id: number): HTMLElement {
  const byEmoji = new Map<string, string[]>();
  for (const message of conversation.messages.values()) {
    if (message.message_type !== 'reaction' || message.reply_to !== id) continue;
    byEmoji.set(message.content, [...(byEmoji.get(message.content) ?? []), message.username]);
  }
  const react = el('button', { className: 'react', text: REACTION, title: `React with ${REACTION}` });
  react.type = 'button';
  react.setAttribute('aria-label', `React with ${REACTION}`);
  react.addEventListener('click', () => {
    const fields = { message_type: 'reaction' as const, reply_to: id };
    const sending: Promise<unknown> =
      conversation.kind === 'room'
        ? client.sendRoomMessage(conversation.id, REACTION, fields)
        : client.sendDirectMessage(conversation.id, REACTION, fields);
    sending.catch(showError);
  });
  const chips = [...byEmoji].map(([emoji, who]) =>
    el('span', { className: 'reaction', text: `${emoji} ${who.length}`, title: who.join(', ') }),
  );
  return el('div', { className: 'reactions' }, ...chips, react);
}

function renderMessage(conversation: Conversation, message: HistoryMessage): HTMLLIElement {
  const item = el(
    'li',
    { className: isMine(message) ? 'message mine' : 'message' },
    el(
      'div',
      { className: 'meta' },
      el('strong', { className: 'author', text: message.username }),
      el('time', { text: clock(message.created_at), title: message.created_at }),
    ),
    ...renderBody(message),
    renderReactions(conversation, message.id),
  );
  item.dataset.id = String(message.id);
  return item;
}

function renderStatus(conversation: Conversation): void {
  historyStatus.textContent = conversation.loading
    ? 'Loading older messages…'
    : conversation.hasOlder
      ? 'Scroll up for older messages'
      : 'Start of the conversation';
}

/** Puts a message of the open conversation on screen: in id order, or as a reaction on its message. */
function show(conversation: Conversation, message: HistoryMessage): void {
  if (message.message_type === 'reaction') {
    if (message.reply_to === undefined) return;
    messagesList
      .querySelector(`li.message[data-id="${message.reply_to}"] .reactions`)
      ?.replaceWith(renderReactions(conversation, message.reply_to));
    return;
  }
  const later = [...messagesList.querySelectorAll<HTMLLIElement>('li.message')].find(
    (item) => Number(item.dataset.id) > message.id,
  );
  messagesList.insertBefore(renderMessage(conversation, message), later ?? null);
}

/** Keeps a message in its conversation unless it is there already (live, caught up or from history). */
function keep(conversation: Conversation, message: HistoryMessage): boolean {
  if (conversation.messages.has(message.id)) return false;
  conversation.messages.set(message.id, message);
  names.set(String(message.user_id), message.username);
  return true;
}

function receive(conversation: Conversation, message: HistoryMessage): void {
  if (!keep(conversation, message)) return;
  if (conversation !== current) {
    if (message.message_type !== 'reaction') conversation.unread += 1;
  } else {
    const atBottom = messagesList.scrollHeight - messagesList.scrollTop - messagesList.clientHeight < EDGE_PX;
    show(conversation, message);
    if (atBottom || isMine(message)) messagesList.scrollTop = messagesList.scrollHeight;
  }
  renderLists();
}

function open(conversation: Conversation): void {
  current = conversation;
  conversation.unread = 0;
  const shown = [...conversation.messages.values()]
    .filter((message) => message.message_type !== 'reaction')
    .sort((a, b) => a.id - b.id);
  messagesList.replaceChildren(
    historyStatus,
    ...shown.map((message) => renderMessage(conversation, message)),
  );
  renderStatus(conversation);
  messagesList.scrollTop = messagesList.scrollHeight;
  renderLists();
  if (!conversation.opened) void loadOlder(conversation);
}

/**
 * Fetches the history page before the messages held. Pages count from the newest message (`offset`),
 * and what the page holds is always the newest part of the conversation (history pages, then live and
 * caught-up messages), so the count held is the next page's offset. The first page starts from the
 * newest (messages may have arrived live before it); duplicates are dropped by id.
 */
async function loadOlder(conversation: Conversation): Promise<void> {
  if (conversation.loading || !conversation.hasOlder) return;
  conversation.loading = true;
  if (conversation === current) renderStatus(conversation);
  const page = { limit: PAGE_SIZE, offset: conversation.opened ? conversation.messages.size : 0 };
  try {
    const history =
      conversation.kind === 'room'
        ? await client.roomHistory({ room: conversation.id, ...page })
        : await client.dmHistory({ with_user: conversation.id, ...page });
    conversation.opened = true;
    conversation.hasOlder = history.has_more;
    const added = history.messages.filter((message) => keep(conversation, message));
    if (conversation === current) {
      // Older messages go above what is on screen: keep the reader where they were.
      const fromBottom = messagesList.scrollHeight - messagesList.scrollTop;
      for (const message of added) show(conversation, message);
      messagesList.scrollTop = messagesList.scrollHeight - fromBottom;
    }
  } catch (error) {
    showError(error);
    return;
  } finally {
    conversation.loading = false;
    if (conversation === current) renderStatus(conversation);
    renderLists();
  }
  // A page that does not fill the list leaves nothing to scroll up: fetch the next one.
  if (conversation === current && messagesList.scrollHeight <= messagesList.clientHeight) {
    void loadOlder(conversation);
  }
}

async function join(room: string): Promise<void> {
  await client.joinRoom(room);
  errorLine.hidden = true;
  const joined = conversation('room', room);
  if (room !== LOBBY || !current) open(joined);
  else renderLists();
}

function showError(error: unknown): void {
  errorLine.textContent = error instanceof Error ? error.message : String(error);
  errorLine.hidden = false;
}

function peerOf(from: WireUserId, to: WireUserId): string {
  return String(from) === session.user.id ? String(to) : String(from);
}

client.on('room_message', ({ room, ...message }) => receive(conversation('room', room), message));
client.on('direct_message', ({ from_user_id, from_username, ...message }) =>
  receive(conversation('dm', peerOf(from_user_id, message.to_user_id)), {
    ...message,
    user_id: from_user_id,
    username: from_username,
  }),
);
client.on('error', ({ message }) => showError(message));

// "reconnecting" from the drop until the SDK has rejoined the rooms and caught up, then "online".
client.onStateChange(({ to, final }) => {
  const online = to === sdk.ConnectionState.ACTIVE;
  if (online) wasOnline = true;
  state.textContent = online ? 'online' : final ? 'offline' : wasOnline ? 'reconnecting' : 'connecting';
  state.dataset.state = to;
  // A first page that a drop interrupted.
  if (online && current && !current.opened) void loadOlder(current);
});
client.onSyncComplete(({ roomMessages, directMessages }) => {
  const missed = roomMessages + directMessages;
  syncNote.textContent = `Back online at ${clock(Date.now(), true)}: ${missed} missed message${missed === 1 ? '' : 's'} caught up.`;
  syncNote.hidden = false;
});

messagesList.addEventListener('scroll', () => {
  if (current && messagesList.scrollTop < EDGE_PX) void loadOlder(current);
});

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageInput.value;
  const target = current;
  if (!text.trim() || !target) return;
  const sending: Promise<unknown> =
    target.kind === 'room'
      ? client.sendRoomMessage(target.id, text)
      : client.sendDirectMessage(target.id, text);
  sending.then(() => {
    messageInput.value = '';
    errorLine.hidden = true;
  }, showError);
});

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = joinForm.elements.namedItem('room') as HTMLInputElement;
  join(input.value.trim()).then(() => {
    input.value = '';
  }, showError);
});

directForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = directForm.elements.namedItem('user') as HTMLInputElement;
  const userId = input.value.trim();
  if (!userId) return;
  input.value = '';
  open(conversation('dm', userId));
});

client.connect().catch(showError);
join(LOBBY).catch(showError);
// The direct conversations this user already has; new ones appear with their first message.
client.dmConversations().then(({ conversations: existing }) => {
  for (const { with_user } of existing) conversation('dm', String(with_user));
  renderLists();
}, showError);
