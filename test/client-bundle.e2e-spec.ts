// The browser bundle: `npm run build:client` writes an ES module and an IIFE without `ws` or Nest code;
// the IIFE, run in a vm context whose only globals are browser-like (a WebSocket global backed by
// `ws`, timers, console, URL, atob; no require, no process), joins a room on a real sample app and
// receives a message.
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { join } from 'path';
import * as vm from 'vm';
import WebSocket from 'ws';
import type * as Sdk from 'nest-realtime-client';
import { eventually, RestartableSample } from './support/client-sample';

const ROOT = join(__dirname, '..');
const OUT = join(ROOT, 'dist/realtime-client');

describe('browser bundle of the client SDK', () => {
  const sample = new RestartableSample();
  let iife: string;
  let esm: string;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'libs/realtime-client/build.mjs')], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    iife = readFileSync(join(OUT, 'realtime-client.iife.js'), 'utf8');
    esm = readFileSync(join(OUT, 'realtime-client.mjs'), 'utf8');
    await sample.start();
  }, 60_000);
  afterAll(() => sample.dispose());

  it('contains neither `ws` nor Nest code, and the ESM file exports the clients', () => {
    for (const bundle of [iife, esm]) {
      expect(bundle).not.toMatch(/require\(["']ws["']\)/);
      expect(bundle).not.toMatch(/from ["']ws["']/);
      expect(bundle).not.toMatch(/@nestjs\//);
      expect(bundle).not.toMatch(/\bNestFactory\b|\bInjectable\b/);
      // The wire types' runtime parts come from the shared protocol module.
      expect(bundle).toContain('Frame is not valid JSON');
    }
    expect(iife).toMatch(/^("use strict";\s*)?var NestRealtimeClient = /);
    expect(esm).toMatch(/export\s*\{[^}]*\bRoomsClient\b/);
  });

  it('runs in a browser-like vm context: joins a room on the sample app and receives a message', async () => {
    const context = vm.createContext({
      WebSocket,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      queueMicrotask,
      console,
      URL,
      atob,
      TextEncoder,
      TextDecoder,
    });
    vm.runInContext(iife, context, { filename: 'realtime-client.iife.js' });
    expect(vm.runInContext('typeof require', context)).toBe('undefined');
    expect(vm.runInContext('typeof process', context)).toBe('undefined');
    const sdk = (context as { NestRealtimeClient: typeof Sdk }).NestRealtimeClient;
    expect(typeof sdk.RoomsClient).toBe('function');

    const browserUser = await sample.login('browser-user');
    const sender = await sample.login('node-user');
    // No webSocket option: the bundle must find the WebSocket global on its own.
    const inBrowser = new sdk.RoomsClient({ url: sample.url, token: browserUser.token });
    const fromNode = new sdk.RoomsClient({ url: sample.url, token: sender.token, webSocket: WebSocket });
    try {
      const received: string[] = [];
      inBrowser.on('room_message', (message) => received.push(`${message.username}: ${message.content}`));
      await Promise.all([inBrowser.connect(), fromNode.connect()]);
      expect(inBrowser.state).toBe('ACTIVE');
      await inBrowser.joinRoom('general');
      await fromNode.joinRoom('general');
      await fromNode.sendRoomMessage('general', 'hello browser');
      await eventually(() => received.length === 1, 5000, 'the browser client receives the message');
      expect(received).toEqual(['node-user: hello browser']);
    } finally {
      inBrowser.close();
      fromNode.close();
    }
  });
});
