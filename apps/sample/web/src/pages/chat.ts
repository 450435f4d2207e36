// Chat page (chat.html): the Socket.IO chat through the SDK's ChatClient. Rooms, messages with
// author and time, replies, typing, presence, and the server's refusals shown to the person.
import type { ChatMessage, UserStatusPayload } from 'nest-realtime-client';
import { byId, clock, el } from '../dom';
import { sdk } from '../sdk';
import { mountHeader, requireSession } from '../session';

/** The chat's lobby room (the library's default `chat.lobbyRoom`): every socket is in it. */
const LOBBY = 'general';
/** A typing indicator is withdrawn after this long without a keystroke. */
const TYPING_IDLE_MS = 2000;

const session = requireSession();
const { state } = mountHeader(session, '/chat.html');
const roomsList = byId('rooms', HTMLUListElement);
const peopleList = byId('people', HTMLUListElement);
const roomTitle = byId('room-title', HTMLElement);
const messagesList = byId('messages', HTMLOListElement);
const typingLine = byId('typing', HTMLElement);
const errorLine = byId('chat-error', HTMLElement);
const replyBox = byId('reply-to', HTMLElement);
const replyText = byId('reply-to-text', HTMLElement);
const composer = byId('composer', HTMLFormElement);
const messageInput = composer.elements.namedItem('message') as HTMLInputElement;
const joinForm = byId('join-room', HTMLFormElement);

const client = new sdk.ChatClient({ url: location.origin, token: session.token });
/** Messages received per room since the page opened (each once: the SDK drops duplicates). */
const rooms = new Map<string, ChatMessage[]>([[LOBBY, []]]);
const unread = new Map<string, number>();
const messagesById = new Map<string, ChatMessage>();
const people = new Map<string, UserStatusPayload>();
const typing = new Map<string, string>();
let current = LOBBY;
let replyingTo: ChatMessage | undefined;

function roomOf(message: ChatMessage): string {
  const room = message.context?.roomId;
  return typeof room === 'string' ? room : LOBBY;
}

function renderRooms(): void {
  roomsList.replaceChildren(
    ...[...rooms.keys()].map((room) => {
      const button = el('button', { text: room });
      button.type = 'button';
      if (room === current) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => switchRoom(room));
      const count = unread.get(room) ?? 0;
      return el(
        'li',
        {},
        button,
        ...(count > 0 ? [el('span', { className: 'badge', text: String(count) })] : []),
      );
    }),
  );
}

function renderMessage(message: ChatMessage): HTMLLIElement {
  const mine = message.userId === session.user.id;
  const item = el(
    'li',
    { className: mine ? 'message mine' : 'message' },
    el(
      'div',
      { className: 'meta' },
      el('strong', { className: 'author', text: message.username }),
      el('time', { text: clock(message.timestamp), title: message.timestamp }),
    ),
  );
  item.dataset.id = message.id;
  const replyTo = message.context?.replyTo;
  if (typeof replyTo === 'string' || typeof replyTo === 'number') {
    const original = messagesById.get(String(replyTo));
    const quote = original ? `${original.username}: ${original.message}` : `message #${replyTo}`;
    item.append(el('blockquote', { className: 'quote', text: `↪ ${quote}` }));
  }
  const reply = el('button', { className: 'reply', text: 'Reply' });
  reply.type = 'button';
  reply.addEventListener('click', () => startReply(message));
  item.append(el('p', { className: 'text', text: message.message }), reply);
  return item;
}

function switchRoom(room: string): void {
  current = room;
  unread.delete(room);
  cancelReply();
  roomTitle.textContent = `# ${room}`;
  messagesList.replaceChildren(...(rooms.get(room) ?? []).map(renderMessage));
  messagesList.scrollTop = messagesList.scrollHeight;
  renderRooms();
}

function renderPeople(): void {
  const sorted = [...people.values()].sort(
    (a, b) => Number(b.isOnline) - Number(a.isOnline) || a.username.localeCompare(b.username),
  );
  peopleList.replaceChildren(
    ...sorted.map((person) =>
      el(
        'li',
        { className: person.isOnline ? 'online' : 'offline' },
        el('span', { text: person.username }),
        el('small', {
          text: person.isOnline
            ? 'online'
            : person.lastSeen
              ? `last seen ${clock(person.lastSeen)}`
              : 'offline',
        }),
      ),
    ),
  );
}

function renderTyping(): void {
  const names = [...typing.values()];
  typingLine.textContent =
    names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function startReply(message: ChatMessage): void {
  replyingTo = message;
  replyText.textContent = `Replying to ${message.username}: ${message.message}`;
  replyBox.hidden = false;
  messageInput.focus();
}

function cancelReply(): void {
  replyingTo = undefined;
  replyBox.hidden = true;
}

function showError(error: unknown): void {
  errorLine.textContent = describeError(error);
  errorLine.hidden = false;
}

/** The server's refusals in words, with when to try again for the rate limit. */
function describeError(error: unknown): string {
  if (!(error instanceof sdk.RealtimeClientError))
    return error instanceof Error ? error.message : String(error);
  if (error.code === sdk.RealtimeErrorCode.RATE_LIMITED) {
    const wait = Number(error.details.retry_after_ms);
    if (Number.isFinite(wait)) {
      const seconds = Math.ceil(wait / 1000);
      return `Too many messages: try again in ${seconds} s (at ${clock(Date.now() + wait, true)}).`;
    }
  }
  if (error.code === sdk.RealtimeErrorCode.MESSAGE_TOO_LONG) return `Message too long: ${error.message}.`;
  return error.message;
}

// Typing: one `true` when typing starts, `false` after a pause or when the message is sent.
let typingTimer: ReturnType<typeof setTimeout> | undefined;
function stopTyping(): void {
  if (typingTimer === undefined) return;
  clearTimeout(typingTimer);
  typingTimer = undefined;
  client.typing(false);
}
messageInput.addEventListener('input', () => {
  if (typingTimer === undefined) client.typing(true);
  else clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageInput.value;
  if (!text.trim()) return;
  stopTyping();
  const context: { roomId: string; replyTo?: string } = { roomId: current };
  if (replyingTo) context.replyTo = replyingTo.id;
  client.sendMessage(text, context).then(() => {
    messageInput.value = '';
    errorLine.hidden = true;
    cancelReply();
  }, showError);
});

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = joinForm.elements.namedItem('room') as HTMLInputElement;
  const room = input.value.trim();
  client.join(room).then(() => {
    input.value = '';
    errorLine.hidden = true;
    if (!rooms.has(room)) rooms.set(room, []);
    switchRoom(room);
  }, showError);
});

byId('reply-cancel', HTMLButtonElement).addEventListener('click', cancelReply);

client.on('message', (message) => {
  const room = roomOf(message);
  const list = rooms.get(room) ?? [];
  rooms.set(room, list);
  list.push(message);
  messagesById.set(message.id, message);
  if (room === current) {
    messagesList.append(renderMessage(message));
    messagesList.scrollTop = messagesList.scrollHeight;
  } else {
    unread.set(room, (unread.get(room) ?? 0) + 1);
    renderRooms();
  }
});
client.on('userTyping', ({ userId, username, isTyping }) => {
  if (isTyping) typing.set(userId, username);
  else typing.delete(userId);
  renderTyping();
});
client.on('userStatus', (status) => {
  people.set(status.userId, status);
  if (!status.isOnline) typing.delete(status.userId);
  renderPeople();
  renderTyping();
});
client.on('error', showError);
client.onStateChange(({ to }) => {
  state.textContent = to === sdk.ConnectionState.ACTIVE ? 'online' : to.toLowerCase();
  state.dataset.state = to;
  // Who is online (and was lately), on connecting and after every reconnection.
  if (to === sdk.ConnectionState.ACTIVE) {
    client.onlineUsers().then(({ users }) => {
      for (const user of users) people.set(user.userId, user);
      renderPeople();
    }, showError);
  }
});

switchRoom(LOBBY);
client.connect().catch(showError);
