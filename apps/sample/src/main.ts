// Entry point of the sample host (`npm start`).
import { Logger } from '@nestjs/common';
import { LogStreamService, RealtimeLogger } from 'nest-realtime';
import { createSampleApp } from './create-app';
import { loadSampleConfig } from './sample.config';

async function bootstrap(): Promise<void> {
  const config = loadSampleConfig();
  const app = await createSampleApp(config);
  if (config.logStreamAppId) {
    // Seed 004: the host's own logs, streamed to the clients of that app (and still to the console).
    app.useLogger(new RealtimeLogger(app.get(LogStreamService), { appId: config.logStreamAppId }));
  }
  // SIGTERM / SIGINT: app.close() (the library drains and closes its connections first), then exit 0.
  app.enableShutdownHooks([], { useProcessExit: true });
  if (config.host === undefined) await app.listen(config.port);
  else await app.listen(config.port, config.host);
  new Logger('Sample').log(
    `nest-realtime sample (node ${config.nodeName}) listening on ${await app.getUrl()}`,
  );
}

bootstrap().catch((error: unknown) => {
  new Logger('Sample').error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
