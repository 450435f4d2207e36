// sharedGatewayHandlers: the pipelines of a realtime gateway's handlers made once with Nest's
// WebSocket context creator, in Nest's order; null (each client keeps Nest's bound handlers) wherever
// the application's internals are not as read, or the handlers Nest lists are not one gateway's.
import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { SubscribeMessage, type MessageMappingProperties } from '@nestjs/websockets';
import { dataEnvelopeCodec } from './frame-codec';
import {
  RealtimeGateway,
  type RealtimeGatewayMetadata,
  type RealtimeGatewayOptions,
} from './realtime-gateway.decorator';
import { sharedGatewayHandlers } from './shared-gateway-handlers';

@RealtimeGateway({ transport: 'ws', path: '/ws/spec', codec: dataEnvelopeCodec })
class SpecGateway {
  @SubscribeMessage('first')
  first(): string {
    return 'first';
  }

  helper(): string {
    return 'not a handler';
  }

  @SubscribeMessage('second')
  second(): string {
    return 'second';
  }
}

@RealtimeGateway({ transport: 'socket.io' })
class IoGateway {
  @SubscribeMessage('first')
  first(): string {
    return 'io first';
  }

  @SubscribeMessage('second')
  second(): string {
    return 'io second';
  }
}

@RealtimeGateway({ transport: 'socket.io' })
class OtherIoGateway {
  @SubscribeMessage('third')
  third(): string {
    return 'third';
  }
}

function optionsOf(gateway: object): RealtimeGatewayOptions {
  return (Reflect.getMetadata('websockets:gateway_options', gateway) as RealtimeGatewayMetadata).realtime;
}

const specOptions = optionsOf(SpecGateway);
const isSpec = (options: RealtimeGatewayOptions) => options === specOptions;
const onSocketIo = (options: RealtimeGatewayOptions) => options.transport === 'socket.io';

/** Nest's per-client handler list for `messages`. */
function nestHandlers(...messages: string[]): MessageMappingProperties[] {
  return messages.map((message) => ({
    message,
    methodName: message,
    isAckHandledManually: false,
    callback: () => Promise.resolve(undefined),
  }));
}

interface Created {
  instance: object;
  moduleKey: string;
  methodName: string;
}

type Gateway = new () => object;

/** An application with the gateways in `module-0` (SpecGateway a second time in `module-1` with `twice`). */
function appWith(options: { noSocketModule?: boolean; twice?: boolean; gateways?: Gateway[] } = {}) {
  const created: Created[] = [];
  const instances = new Map<Gateway, object>();
  const modules = new ModulesContainer();
  const gateways = options.gateways ?? [SpecGateway, IoGateway, OtherIoGateway];
  const providers = new Map<unknown, unknown>([['other', { metatype: class Other {}, instance: {} }]]);
  for (const gateway of gateways) {
    const instance = new gateway();
    instances.set(gateway, instance);
    providers.set(gateway, { metatype: gateway, instance, isNotMetatype: false });
  }
  modules.set('module-0', { providers } as never);
  if (options.twice) {
    const again = new Map<unknown, unknown>([
      [SpecGateway, { metatype: SpecGateway, instance: new SpecGateway(), isNotMetatype: false }],
    ]);
    modules.set('module-1', { providers: again } as never);
  }
  const contextCreator = {
    create(target: object, callback: (...args: unknown[]) => unknown, moduleKey: string, methodName: string) {
      created.push({ instance: target, moduleKey, methodName });
      return (client: unknown, data: unknown, extra: unknown) => [callback.call(target), client, data, extra];
    },
  };
  const app = {
    get: () => modules,
    ...(options.noSocketModule ? {} : { socketModule: { webSocketsController: { contextCreator } } }),
  } as unknown as INestApplicationContext;
  return { app, created, instances };
}

describe('sharedGatewayHandlers', () => {
  it("makes each handler's pipeline once, in Nest's order, called with the client", () => {
    const { app, created, instances } = appWith();
    const table = sharedGatewayHandlers(app, isSpec, nestHandlers('first', 'second'));
    const instance = instances.get(SpecGateway);
    expect(created).toEqual([
      { instance, moduleKey: 'module-0', methodName: 'first' },
      { instance, moduleKey: 'module-0', methodName: 'second' },
    ]);
    expect(table?.[1]?.('client', { n: 1 }, 'second')).toEqual(['second', 'client', { n: 1 }, 'second']);
  });

  it('finds the Socket.IO gateway whose handlers Nest lists', () => {
    const { app } = appWith();
    expect(sharedGatewayHandlers(app, onSocketIo, nestHandlers('first', 'second'))?.[0]?.('s', 1, 2)).toEqual(
      ['io first', 's', 1, 2],
    );
    expect(sharedGatewayHandlers(app, onSocketIo, nestHandlers('third'))?.[0]?.('s', 1, 2)).toEqual([
      'third',
      's',
      1,
      2,
    ]);
  });

  it('gives no table when the handlers Nest lists are not those of the gateway', () => {
    const { app } = appWith();
    expect(sharedGatewayHandlers(app, isSpec, nestHandlers('second', 'first'))).toBeNull();
    expect(sharedGatewayHandlers(app, isSpec, nestHandlers('first'))).toBeNull();
    expect(sharedGatewayHandlers(app, onSocketIo, nestHandlers('first', 'third'))).toBeNull();
  });

  it('gives no table for two gateways of the same handlers', () => {
    expect(
      sharedGatewayHandlers(appWith({ twice: true }).app, isSpec, nestHandlers('first', 'second')),
    ).toBeNull();
    const both = appWith({ gateways: [SpecGateway, IoGateway] }).app;
    expect(sharedGatewayHandlers(both, () => true, nestHandlers('first', 'second'))).toBeNull();
  });

  it("gives no table without Nest's socket module, or for a context creator of another signature", () => {
    const handlers = nestHandlers('first', 'second');
    expect(sharedGatewayHandlers(appWith({ noSocketModule: true }).app, isSpec, handlers)).toBeNull();
    const { app } = appWith();
    const internals = app as unknown as {
      socketModule: { webSocketsController: { contextCreator: { create: unknown } } };
    };
    internals.socketModule.webSocketsController.contextCreator.create = (instance: object) => () => instance;
    expect(sharedGatewayHandlers(app, isSpec, handlers)).toBeNull();
  });

  it('gives no table when reading the application throws', () => {
    const app = {
      get: () => {
        throw new Error('no ModulesContainer');
      },
      socketModule: {
        webSocketsController: { contextCreator: { create: (_a: 1, _b: 2, _c: 3, _d: 4) => null } },
      },
    } as unknown as INestApplicationContext;
    expect(sharedGatewayHandlers(app, isSpec, nestHandlers('first', 'second'))).toBeNull();
  });
});
