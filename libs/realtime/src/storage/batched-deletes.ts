// What the stores share to delete in the background: the pause between two batches, and which direct
// conversations (`<lower user id>|<higher user id>`) are a user's.

/** Lets other work (frames, deliveries, inserts) run before the next batch. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether the direct conversation with this key is one of `userId`'s (keys order the two ids). */
export function isDirectConversationOf(dmKey: string, userId: string): boolean {
  const lower = `${userId}|`;
  const higher = `|${userId}`;
  return (
    (dmKey.startsWith(lower) && userId < dmKey.slice(lower.length)) ||
    (dmKey.endsWith(higher) && dmKey.slice(0, -higher.length) < userId)
  );
}
