// Nest's handler pipelines of a realtime gateway, made once per gateway instead of once per client.
// For every client Nest binds each @SubscribeMessage handler of the gateway to it
// (`callback.bind(gateway, client)`, WebSocketsController.subscribeMessages); kept, that is 72 bytes
// per handler and client (heap snapshot diffs of the connections group, 1,000 against 3,000
// connections: the rooms gateway's 7 handlers, about 0.6 KB of each raw ws connection; the chat's 8
// on Socket.IO, with their table, about 0.7 KB). The table holds the same pipelines (guards, pipes,
// interceptors, exception filters of the gateway and its methods), made by Nest's own WebSocket
// context creator, called with the client: a client keeps no handler. Where Nest's internals are
// not as expected, or the handlers Nest lists are not those of exactly one gateway, there is no
// table and each client keeps Nest's bound handlers, as before.
import type { INestApplicationContext } from '@nestjs/common';
import { MetadataScanner, ModulesContainer } from '@nestjs/core';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isRealtimeGatewayMetadata, type RealtimeGatewayOptions } from './realtime-gateway.decorator';

/**
 * A gateway handler with its pipeline, for any client: called with the client and what Nest's bound
 * handler is called with (raw ws: the data and the frame type; Socket.IO: the data and the ack).
 */
export type SharedGatewayHandler = (client: unknown, data: unknown, extra: unknown) => unknown;

/** Metadata keys of @nestjs/websockets (constants.js), stable across its versions 11 and 12. */
const GATEWAY_OPTIONS = 'websockets:gateway_options';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const MESSAGE_METADATA = 'message';

type GatewayMethod = (...args: unknown[]) => unknown;

/** What the table needs of Nest's WsContextCreator. */
interface WsContextCreatorLike {
  create(instance: object, callback: GatewayMethod, moduleKey: string, methodName: string): GatewayMethod;
}

/** A context creator whose `create` takes the four arguments read here (another signature: no table). */
function isContextCreator(value: unknown): value is WsContextCreatorLike {
  if (typeof value !== 'object' || value === null) return false;
  const create = (value as Partial<WsContextCreatorLike>).create;
  return typeof create === 'function' && create.length === 4;
}

/**
 * Nest's context creator of WebSocket handlers: the one WebSocketsController made its per-client
 * handlers with (NestApplication's socket module), so that the table's pipelines are built alike.
 */
function nestWsContextCreator(app: INestApplicationContext): WsContextCreatorLike | null {
  const socketModule = (app as unknown as { socketModule?: { webSocketsController?: unknown } }).socketModule;
  const controller = socketModule?.webSocketsController as { contextCreator?: unknown } | undefined;
  const creator = controller?.contextCreator;
  return isContextCreator(creator) ? creator : null;
}

interface GatewayProvider {
  instance: object;
  moduleKey: string;
}

/** Every provider instance whose @RealtimeGateway options `accepts` takes, with its module. */
function realtimeGateways(
  app: INestApplicationContext,
  accepts: (options: RealtimeGatewayOptions) => boolean,
): GatewayProvider[] {
  const modules = app.get(ModulesContainer, { strict: false });
  const found: GatewayProvider[] = [];
  for (const [moduleKey, module] of modules) {
    for (const wrapper of module.providers.values()) {
      const metatype: unknown = wrapper?.metatype;
      if (typeof metatype !== 'function' || wrapper.isNotMetatype) continue;
      const options: unknown = Reflect.getMetadata(GATEWAY_OPTIONS, metatype);
      if (!isRealtimeGatewayMetadata(options) || !accepts(options.realtime)) continue;
      const instance: unknown = wrapper.instance;
      if (typeof instance === 'object' && instance !== null) found.push({ instance, moduleKey });
    }
  }
  return found;
}

/** The gateway's message handlers in Nest's order (GatewayMetadataExplorer.explore). */
function gatewayMethods(
  instance: object,
): Array<{ message: unknown; methodName: string; method: GatewayMethod }> {
  const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
  const methods: Array<{ message: unknown; methodName: string; method: GatewayMethod }> = [];
  for (const methodName of new MetadataScanner().getAllMethodNames(prototype)) {
    const method = prototype[methodName];
    if (typeof method !== 'function') continue;
    if (Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method) === undefined) continue;
    methods.push({
      message: Reflect.getMetadata(MESSAGE_METADATA, method),
      methodName,
      method: method as GatewayMethod,
    });
  }
  return methods;
}

/** Whether Nest's handler list for a client is the gateway's, in the same order. */
function sameHandlers(
  methods: ReadonlyArray<{ message: unknown }>,
  handlers: readonly MessageMappingProperties[],
): boolean {
  return (
    methods.length === handlers.length &&
    methods.every((method, i) => method.message === handlers[i]?.message)
  );
}

/**
 * The pipelines of the handlers Nest lists for a client (`handlers`, in its order), made once for
 * the one gateway that `accepts` takes (by its @RealtimeGateway options) and whose handlers they
 * are; null: no table, each client keeps Nest's bound handlers (no such gateway, or several).
 */
export function sharedGatewayHandlers(
  app: INestApplicationContext,
  accepts: (options: RealtimeGatewayOptions) => boolean,
  handlers: readonly MessageMappingProperties[],
): SharedGatewayHandler[] | null {
  try {
    const creator = nestWsContextCreator(app);
    if (creator === null) return null;
    const matching = realtimeGateways(app, accepts)
      .map((provider) => ({ provider, methods: gatewayMethods(provider.instance) }))
      .filter(({ methods }) => sameHandlers(methods, handlers));
    // None, or one gateway's handlers in two modules, or two gateways alike: not told apart here.
    const [only] = matching;
    if (only === undefined || matching.length > 1) return null;
    const { provider, methods } = only;
    // Nest calls its bound handler as `callback.call(gateway, client, ...args)`; the pipeline
    // (WsProxy's function) does not read `this`.
    return methods.map(({ method, methodName }): SharedGatewayHandler =>
      creator.create(provider.instance, method, provider.moduleKey, methodName),
    );
  } catch {
    // Nest's internals differ from what is read here: per-client handlers, as Nest binds them.
    return null;
  }
}
