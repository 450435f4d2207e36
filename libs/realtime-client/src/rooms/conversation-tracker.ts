// Remembers, per conversation (a room or a direct conversation), the newest message id and the ids
// already delivered, so that live frames and catch-up history deliver each message exactly once.

interface ConversationMarks {
  /** Newest id known: the catch-up after a reconnection asks for the messages after it. */
  lastId: number;
  /** Recently delivered ids, oldest first (bounded). */
  delivered: Set<number>;
}

export class ConversationTracker {
  private readonly conversations = new Map<string, ConversationMarks>();

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
    return true;
  }

  /** Moves the watermark forward without delivering (e.g. the newest message at join time). */
  advance(key: string, id: number): void {
    const marks = this.marks(key);
    if (id > marks.lastId) marks.lastId = id;
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
