// The sample host: mounts RealtimeModule the way the README says, plus login, modules and health.
import { Module, type DynamicModule } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { RealtimeModule, type RealtimeModuleOptions } from 'nest-realtime';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { AnnouncementsModule } from './announcements/announcements.module';
import { AuthController } from './auth/auth.controller';
import { AuthService } from './auth/auth.service';
import { HealthController } from './health/health.controller';
import { ModuleEntity } from './modules/module.entity';
import { ModulesController } from './modules/modules.controller';
import { ModulesService } from './modules/modules.service';
import { ModulesStateModule } from './modules/modules-state.module';
import { RoomPolicyModule } from './rooms/room-policy.module';
import { RoomsController } from './rooms/rooms.controller';
import { DEFAULT_ANNOUNCEMENTS_PER_MINUTE, type SampleConfig } from './sample.config';
import { SAMPLE_CONFIG } from './sample.constants';

/** Library options from the sample's configuration; `overrides` lets tests shorten limits. */
export function realtimeOptionsFor(
  config: SampleConfig,
  overrides: Partial<RealtimeModuleOptions> = {},
): RealtimeModuleOptions {
  return {
    auth: { secret: config.jwtSecret },
    database: config.databaseUrl
      ? { type: 'postgres', url: config.databaseUrl }
      : { type: 'sqlite', path: join(config.dataDir, 'realtime.sqlite') },
    ...(config.rateLimit && (config.rateLimit.perMinute || config.rateLimit.perHour)
      ? { limits: { rateLimit: withoutUndefined(config.rateLimit) } }
      : {}),
    ...(config.redis ? { redis: { ...withoutUndefined(config.redis), url: config.redis.url } } : {}),
    ...(config.trustedProxies ? { trustedProxies: config.trustedProxies } : {}),
    ...overrides,
    stream: {
      port: config.streamPort,
      persist: config.persistLogs ?? true,
      ...(config.metricsIntervalMs ? { metricsIntervalMs: config.metricsIntervalMs } : {}),
      ...overrides.stream,
    },
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sampleDatabase(config: SampleConfig): TypeOrmModuleOptions {
  if (config.databaseUrl) {
    return { type: 'postgres', url: config.databaseUrl, entities: [ModuleEntity], synchronize: true };
  }
  mkdirSync(config.dataDir, { recursive: true });
  return {
    type: 'better-sqlite3',
    database: join(config.dataDir, 'sample.sqlite'),
    entities: [ModuleEntity],
    synchronize: true,
  };
}

@Module({})
export class AppModule {
  static register(config: SampleConfig, overrides: Partial<RealtimeModuleOptions> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RealtimeModule.forRootAsync({
          isGlobal: true,
          // The library mounts no HTTP route unless asked: the sample opts into both.
          http: { metricsPath: '/metrics', logIngestionPath: '/apps/:appId/logs' },
          useFactory: () => realtimeOptionsFor(config, overrides),
        }),
        TypeOrmModule.forRoot(sampleDatabase(config)),
        TypeOrmModule.forFeature([ModuleEntity]),
        // The modules table as the events API's ModuleStateSource (rt_sync and dedupe after a restart).
        ModulesStateModule,
        // The room policy: "admins-" rooms are for admins only (docs/sample-app.md).
        RoomPolicyModule,
        // Admin announcements on both transports: the library's guards, @RealtimeRoles and rate
        // limiter in a host gateway.
        AnnouncementsModule.register(config.announcementsPerMinute ?? DEFAULT_ANNOUNCEMENTS_PER_MINUTE),
        JwtModule.register({ secret: config.jwtSecret, signOptions: { algorithm: 'HS256' } }),
        TerminusModule,
      ],
      controllers: [AuthController, ModulesController, HealthController, RoomsController],
      providers: [{ provide: SAMPLE_CONFIG, useValue: config }, AuthService, ModulesService],
    };
  }
}
