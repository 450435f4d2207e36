// One Redis pub/sub channel between the nodes of a deployment: what a node sends reaches every
// other node (in order per sending node), never itself. Used by the raw-ws deliveries, which have
// no Socket.IO adapter to relay them.
import { Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import type { RealtimeRedisClients } from './redis-clients.provider';

interface Relayed<T> {
  node: string;
  body: T;
}

export class RedisRelay<T> {
  private readonly logger: Logger;
  private readonly node = randomUUID();
  private readonly channel: string;
  private readonly onMessage = (channel: string, text: string): void => this.receive(channel, text);

  /**
   * @param name channel name after the key prefix, e.g. `conversations` → `rt:conversations`
   * @param deliver called with each body another node sent
   */
  constructor(
    private readonly redis: RealtimeRedisClients,
    name: string,
    private readonly deliver: (body: T) => void,
  ) {
    this.channel = `${redis.keyPrefix}:${name}`;
    this.logger = new Logger(`RedisRelay ${this.channel}`);
  }

  async start(): Promise<void> {
    this.redis.sub.on('message', this.onMessage);
    await this.redis.sub.subscribe(this.channel);
  }

  stop(): void {
    this.redis.sub.off('message', this.onMessage);
  }

  /** Sends to the other nodes. A failure is logged and reported through the promise, never thrown. */
  async send(body: T, what: string): Promise<boolean> {
    const relayed: Relayed<T> = { node: this.node, body };
    try {
      await this.redis.pub.publish(this.channel, JSON.stringify(relayed));
      return true;
    } catch (error) {
      this.logger.warn(
        `Relaying ${what} to the other nodes failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return false;
    }
  }

  private receive(channel: string, text: string): void {
    if (channel !== this.channel) return;
    let relayed: Relayed<T>;
    try {
      relayed = JSON.parse(text) as Relayed<T>;
    } catch {
      this.logger.warn('Ignored a relayed frame that is not JSON');
      return;
    }
    if (relayed.node === this.node) return;
    try {
      this.deliver(relayed.body);
    } catch (error) {
      this.logger.error(
        'Delivering a relayed frame failed',
        error instanceof Error ? error.stack : String(error),
      );
    }
  }
}
