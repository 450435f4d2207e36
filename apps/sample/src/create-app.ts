// Builds the sample application (used by main.ts and by the e2e tests).
import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RealtimeAdapter, type RealtimeModuleOptions } from 'nest-realtime';
import { AppModule } from './app.module';
import type { SampleConfig } from './sample.config';

export async function createSampleApp(
  config: SampleConfig,
  overrides: Partial<RealtimeModuleOptions> = {},
  logger: false | undefined = undefined,
): Promise<INestApplication> {
  // abortOnError false: a boot failure rejects (main.ts reports it and exits) instead of exiting here.
  const app = await NestFactory.create(AppModule.register(config, overrides), {
    logger,
    abortOnError: false,
  });
  // The one line a host adds: Socket.IO and raw ws gateways side by side on the HTTP port.
  app.useWebSocketAdapter(new RealtimeAdapter(app));
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  return app;
}
