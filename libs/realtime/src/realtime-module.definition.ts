// ConfigurableModuleBuilder definition: forRoot / forRootAsync with the static extras (isGlobal,
// gateways). The options provider moves into a small module shared with the TypeORM connection.
import { ConfigurableModuleBuilder, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { MOUNTED_GATEWAYS, REALTIME_OPTIONS } from './realtime.constants';
import {
  RealtimeOptionsError,
  resolveRealtimeOptions,
  type RealtimeHttpRoutes,
  type RealtimeModuleExtras,
  type RealtimeModuleOptions,
  type ResolvedRealtimeOptions,
} from './realtime.options';
import { RealtimeDataSourceModule, STORE_PROVIDERS, STORE_TOKENS } from './storage/storage.providers';
import { EventsGateway } from './events/events.gateway';
import { ChatGateway } from './chat/chat.gateway';
import { ChatService } from './chat/chat.service';
import { PresenceService } from './chat/presence.service';
import { TypingService } from './chat/typing.service';
import { RoomsGateway } from './rooms/rooms.gateway';
import { RoomsSessionService } from './rooms/rooms-session.service';
import { RoomMembersRegistry } from './rooms/room-members.registry';
import { RoomsDelivery } from './rooms/rooms-delivery.service';
import { RealtimeAdapterCheck } from './core/transport/adapter-check.service';
import { AuthRefreshGateway } from './core/auth/auth-refresh.gateway';
import { STREAM_EXPORTS, STREAM_PROVIDERS, streamControllers } from './stream/stream.providers';

/** Holds the host-given options and their resolved form; imported by RealtimeModule and TypeORM. */
@Module({})
export class RealtimeOptionsModule {}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<RealtimeModuleOptions>({ moduleName: 'Realtime' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createRealtimeOptions')
    .setExtras<RealtimeModuleExtras>({ isGlobal: false, gateways: {}, http: {} }, (definition, extras) =>
      withFeatures(definition, extras),
    )
    .build();

function withFeatures(definition: DynamicModule, extras: RealtimeModuleExtras): DynamicModule {
  const resolvedOptions: Provider = {
    provide: REALTIME_OPTIONS,
    inject: [MODULE_OPTIONS_TOKEN],
    useFactory: (options: RealtimeModuleOptions): ResolvedRealtimeOptions => resolveRealtimeOptions(options),
  };
  const optionsModule: DynamicModule = {
    module: RealtimeOptionsModule,
    imports: definition.imports ?? [],
    providers: [...(definition.providers ?? []), resolvedOptions],
    exports: [REALTIME_OPTIONS, MODULE_OPTIONS_TOKEN],
  };
  const gateways = extras.gateways ?? {};
  const mounted = (['events', 'chat', 'rooms', 'logs'] as const).filter((name) => gateways[name] !== false);
  const http = resolveHttpRoutes(extras.http ?? {}, gateways.logs !== false);
  return {
    ...definition,
    global: extras.isGlobal ?? false,
    imports: [
      optionsModule,
      // forRootAsync's imports serve the options factory, and are the module's own too: a host
      // provider they export (a RoomPolicy under ROOM_POLICY) reaches the library's services.
      ...(definition.imports ?? []),
      RealtimeDataSourceModule.register(optionsModule),
    ],
    controllers: streamControllers(http),
    providers: [
      { provide: MOUNTED_GATEWAYS, useValue: mounted },
      ...STORE_PROVIDERS,
      RealtimeAdapterCheck,
      ...(gateways.events === false ? [] : [EventsGateway]),
      // Socket.IO `authRefresh`, shared by the chat and the events API (one socket).
      ...(gateways.events === false && gateways.chat === false ? [] : [AuthRefreshGateway]),
      ...(gateways.chat === false ? [] : [ChatGateway, ChatService, TypingService, PresenceService]),
      ...(gateways.rooms === false
        ? []
        : [RoomsGateway, RoomsSessionService, RoomMembersRegistry, RoomsDelivery]),
      ...(gateways.logs === false ? [] : STREAM_PROVIDERS),
    ],
    exports: [optionsModule, ...STORE_TOKENS, ...(gateways.logs === false ? [] : STREAM_EXPORTS)],
  };
}

/** Checks the opt-in HTTP routes (they are static: they shape the module's controllers). */
function resolveHttpRoutes(routes: RealtimeHttpRoutes, logStream: boolean): RealtimeHttpRoutes {
  const resolved: RealtimeHttpRoutes = {};
  for (const key of ['metricsPath', 'logIngestionPath'] as const) {
    const value = routes[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~\-/:]*$/.test(value)) {
      throw new RealtimeOptionsError(
        `http.${key}`,
        `must be an absolute URL path such as "${key === 'metricsPath' ? '/metrics' : '/apps/:appId/logs'}" (got ${JSON.stringify(value)})`,
      );
    }
    if (!logStream) {
      throw new RealtimeOptionsError(`http.${key}`, 'needs the log stream (gateways.logs is false)');
    }
    resolved[key] = value;
  }
  if (resolved.logIngestionPath !== undefined && !resolved.logIngestionPath.split('/').includes(':appId')) {
    throw new RealtimeOptionsError(
      'http.logIngestionPath',
      `must hold an ":appId" segment, e.g. "/apps/:appId/logs" (got "${resolved.logIngestionPath}")`,
    );
  }
  return resolved;
}
