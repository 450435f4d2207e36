// The message rate limits of the chat and the rooms (per user, a minute and an hour, across
// connections and transports): the messages bucket of the one injectable RealtimeRateLimiter, so
// that a host counting a message of its own (`consume(userId)`) shares the same windows.
export { RealtimeRateLimiter as MessageRateLimiter } from './realtime-rate-limiter.service';
