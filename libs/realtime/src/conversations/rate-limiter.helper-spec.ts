// For specs: the two paths of MessageRateLimiter (its in-memory windows, and a shared
// @nestjs/throttler storage), and one message attempt reduced to what the client would see.
import { ThrottlerStorageService } from '@nestjs/throttler';
import { RealtimeError } from '../core/errors/realtime-error';
import { resolveRealtimeOptions, type RealtimeModuleOptions } from '../realtime.options';
import { MessageRateLimiter } from './rate-limiter.service';

export interface LimiterPath {
  name: string;
  /** A limiter on these options (auth added), with a fresh shared storage on the shared path. */
  create(options?: Omit<RealtimeModuleOptions, 'auth'>): { limiter: MessageRateLimiter; close(): void };
}

export const LIMITER_PATHS: LimiterPath[] = [
  {
    name: 'in memory',
    create(options = {}) {
      const limiter = new MessageRateLimiter(resolveRealtimeOptions({ ...options, auth: AUTH }));
      return { limiter, close: () => limiter.onApplicationShutdown() };
    },
  },
  {
    name: 'shared storage (@nestjs/throttler ThrottlerStorageService)',
    create(options = {}) {
      const storage = new ThrottlerStorageService();
      const limiter = new MessageRateLimiter(
        resolveRealtimeOptions({
          ...options,
          auth: AUTH,
          rooms: { ...options.rooms, rateLimitStorage: storage },
        }),
      );
      return {
        limiter,
        close: () => {
          limiter.onApplicationShutdown();
          storage.onApplicationShutdown();
        },
      };
    },
  },
];

/** 'ok', or the refusing window with its retry_after_ms. */
export type Attempt = 'ok' | { window: string; limit: number; retryAfterMs: number };

export async function attempt(limiter: MessageRateLimiter, userId: string): Promise<Attempt> {
  try {
    await limiter.consume(userId);
    return 'ok';
  } catch (error) {
    if (!(error instanceof RealtimeError) || error.code !== 'RATE_LIMITED') throw error;
    const { window, limit, retry_after_ms } = error.details as {
      window: string;
      limit: number;
      retry_after_ms: number;
    };
    return { window, limit, retryAfterMs: retry_after_ms };
  }
}

const AUTH = { secret: 'unit-secret-for-rate-limit-specs' };
