// Entry point of the sample host (`npm start`).
import { Logger } from '@nestjs/common';
import { LogStreamService, RealtimeLogger, ShutdownCoordinator } from 'nest-realtime';
import { createSampleApp } from './create-app';
import { loadSampleConfig } from './sample.config';

async function bootstrap(): Promise<void> {
  const config = loadSampleConfig();
  const app = await createSampleApp(config);
  if (config.logStreamAppId) {
    // Seed 004: the host's own logs, streamed to the clients of that app (and still to the console).
    app.useLogger(new RealtimeLogger(app.get(LogStreamService), { appId: config.logStreamAppId }));
  }
  // SIGTERM / SIGINT: the library's graceful shutdown first (its module is global, so app.close()
  // would run the sample's own onModuleDestroy hooks before it), then app.close(), then exit 0.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void app
        .get(ShutdownCoordinator)
        .shutdown()
        .then(() => app.close())
        .then(
          () => process.exit(0),
          (error: unknown) => {
            new Logger('Sample').error(
              `Shutdown failed: ${error instanceof Error ? error.stack : String(error)}`,
            );
            process.exit(1);
          },
        );
    });
  }
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
