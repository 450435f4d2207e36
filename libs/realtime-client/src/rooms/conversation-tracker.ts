// Remembers, per conversation (a room or a direct conversation), the newest message id and the ids
// already delivered, so that live frames and catch-up history deliver each message exactly once; and
// the newest id known over all conversations (message ids are global to the server).

interface ConversationMarks {
  /** Newest id known: the catch-up after a reconnection asks for the messages after it. */
  lastId: number;
  /** Recently delivered ids, oldest first (bounded). */
  delivered: Set<number>;
}

export class ConversationTracker {
  private readonly conversations = new Map<string, ConversationMarks>();
  private newest = 0;

  constructor(private readonly window = 1000) {}

  /** True the first time `id` is seen in `key` (deliver it); false for a duplicate. */
  accept(key: string, id: number): boolean {
    const marks = this.marks(key);
    if (marks.delivered.has(id)) return false;
    marks.delivered.add(id);
    if (marks.delivered.size > this.window) {
      const oldest = marks.delivered.values().next().value;
      if (oldest !== undefined) marks.delivered.delete(oldest);
    }
    if (id > marks.lastId) marks.lastId = id;
    this.observe(id);
    return true;
  }

  /** Moves the watermark forward without delivering (e.g. the newest message at join time). */
  advance(key: string, id: number): void {
    const marks = this.marks(key);
    if (id > marks.lastId) marks.lastId = id;
    this.observe(id);
  }

  /** Records that the server had messages up to `id` (without naming a conversation). */
  observe(id: number): void {
    if (id > this.newest) this.newest = id;
  }

  /** The newest message id known in any conversation (kept when a conversation is forgotten). */
  get newestId(): number {
    return this.newest;
  }

  lastId(key: string): number | undefined {
    return this.conversations.get(key)?.lastId;
  }

  keys(): string[] {
    return [...this.conversations.keys()];
  }

  forget(key: string): void {
    this.conversations.delete(key);
  }

  private marks(key: string): ConversationMarks {
    let marks = this.conversations.get(key);
    if (!marks) {
      marks = { lastId: 0, delivered: new Set() };
      this.conversations.set(key, marks);
    }
    return marks;
  }
}
