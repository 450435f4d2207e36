// Entry point: a plain Nest application with nest-realtime mounted on the same port.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RealtimeAdapter } from 'nest-realtime';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  // The one line: Socket.IO and the raw WebSocket endpoints share the HTTP server.
  app.useWebSocketAdapter(new RealtimeAdapter(app));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
  new Logger('HostApp').log(`listening on ${await app.getUrl()}`);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
