// `npm run bots -- --url http://127.0.0.1:3000 --count N --room general --rate R --duration S`
import { formatBotFleetReport, parseBotFleetArgs } from './bot-fleet.cli';
import { runBots } from './run-bots';

async function main(): Promise<void> {
  const report = await runBots(parseBotFleetArgs(process.argv.slice(2)));
  console.log(formatBotFleetReport(report));
  process.exitCode = report.lost === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 2;
});
