// Programmatic API of the bot fleet, for benchmarks and tests.
export { runBots, type BotFleetReport } from './run-bots';
export {
  BOT_FLEET_LIMITS,
  isLoopbackHost,
  resolveBotFleetOptions,
  type BotFleetOptions,
} from './bot-fleet.options';
export { formatBotFleetReport, parseBotFleetArgs, BOT_FLEET_USAGE } from './bot-fleet.cli';
export type { LatencySummary } from './latency-recorder';
