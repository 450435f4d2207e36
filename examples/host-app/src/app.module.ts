// The host's root module: configuration from the environment, and nest-realtime configured from it.
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { RealtimeModule } from 'nest-realtime';
import { NotificationsController } from './notifications.controller';

@Module({
  imports: [
    ConfigModule.forRoot(),
    RealtimeModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        auth: { secret: config.getOrThrow<string>('JWT_SECRET') },
        database: { type: 'sqlite', path: config.getOrThrow<string>('DATABASE_PATH') },
      }),
      // Opt-in HTTP route: producers POST log entries for the log stream of their app.
      http: { logIngestionPath: '/apps/:appId/logs' },
    }),
  ],
  controllers: [NotificationsController],
})
export class AppModule {}
