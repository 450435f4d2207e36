// ConfigurableModuleBuilder definition: forRoot / forRootAsync with the static extras (isGlobal,
// gateways). The options provider moves into a small module shared with the TypeORM connection.
import { ConfigurableModuleBuilder, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { REALTIME_CONNECTION, REALTIME_OPTIONS } from './realtime.constants';
import {
  resolveRealtimeOptions,
  type RealtimeModuleExtras,
  type RealtimeModuleOptions,
  type ResolvedRealtimeOptions,
} from './realtime.options';
import { realtimeTypeOrmOptions } from './storage/realtime-typeorm.options';
import { EventsGateway } from './events/events.gateway';
import { ChatGateway } from './chat/chat.gateway';
import { ChatIdleService } from './chat/chat-idle.service';
import { ChatService } from './chat/chat.service';
import { PresenceService } from './chat/presence.service';
import { TypingService } from './chat/typing.service';
import { RoomsGateway } from './rooms/rooms.gateway';
import { RoomsSessionService } from './rooms/rooms-session.service';
import { RoomMembersRegistry } from './rooms/room-members.registry';
import { RoomsDelivery } from './rooms/rooms-delivery.service';
import {
  STREAM_CONTROLLERS,
  STREAM_EXPORTS,
  STREAM_PROVIDERS,
  streamImports,
} from './stream/stream.providers';

/** Holds the host-given options and their resolved form; imported by RealtimeModule and TypeORM. */
@Module({})
export class RealtimeOptionsModule {}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<RealtimeModuleOptions>({ moduleName: 'Realtime' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createRealtimeOptions')
    .setExtras<RealtimeModuleExtras>({ isGlobal: false, gateways: {} }, (definition, extras) =>
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
  return {
    ...definition,
    global: extras.isGlobal ?? false,
    imports: [
      optionsModule,
      TypeOrmModule.forRootAsync({
        name: REALTIME_CONNECTION,
        imports: [optionsModule],
        inject: [REALTIME_OPTIONS],
        useFactory: realtimeTypeOrmOptions,
      }),
      ...(gateways.logs === false ? [] : streamImports()),
    ],
    controllers: gateways.logs === false ? [] : STREAM_CONTROLLERS,
    providers: [
      ...(gateways.events === false ? [] : [EventsGateway]),
      ...(gateways.chat === false
        ? []
        : [ChatGateway, ChatService, TypingService, PresenceService, ChatIdleService]),
      ...(gateways.rooms === false
        ? []
        : [RoomsGateway, RoomsSessionService, RoomMembersRegistry, RoomsDelivery]),
      ...(gateways.logs === false ? [] : STREAM_PROVIDERS),
    ],
    exports: [optionsModule, ...(gateways.logs === false ? [] : STREAM_EXPORTS)],
  };
}
