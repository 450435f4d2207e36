// Builds the sample application (used by main.ts and by the e2e tests).
import { Logger, ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'fs';
import { join, resolve } from 'path';
import { InputLimitsPipe, RealtimeAdapter, type RealtimeModuleOptions } from 'nest-realtime';
import { AppModule } from './app.module';
import type { SampleConfig } from './sample.config';

/** The web pages (apps/sample/web) built by `npm run build:web` (run by `npm start`), under the working directory. */
export const SAMPLE_WEB_ROOT = resolve('dist/sample-web');

export async function createSampleApp(
  config: SampleConfig,
  overrides: Partial<RealtimeModuleOptions> = {},
  logger: false | undefined = undefined,
): Promise<INestApplication> {
  // abortOnError false: a boot failure rejects (main.ts reports it and exits) instead of exiting here.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, overrides), {
    logger,
    abortOnError: false,
  });
  // The one line a host adds: Socket.IO and raw ws gateways side by side on the HTTP port.
  app.useWebSocketAdapter(new RealtimeAdapter(app));
  // The library's caps on nesting and keys first: a body nested thousands deep never reaches
  // class-transformer (its recursion would answer 500).
  app.useGlobalPipes(
    new InputLimitsPipe(),
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  // The host serves its own pages (the library mounts no route): index.html, the sign-in page, at `/`.
  if (existsSync(join(SAMPLE_WEB_ROOT, 'index.html'))) app.useStaticAssets(SAMPLE_WEB_ROOT);
  else if (logger !== false)
    new Logger('Sample').warn(`No web pages in ${SAMPLE_WEB_ROOT}: run npm run build:web`);
  return app;
}
