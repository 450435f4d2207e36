// The client SDK as a page gets it: the SDK's browser build (sdk/realtime-client.iife.js, loaded by a
// <script> tag before the page's own script) defines the global NestRealtimeClient. Only its types are
// imported here, so the pages compile against the SDK's own declarations and bundle none of it.
import type * as Sdk from 'nest-realtime-client';

declare global {
  interface Window {
    NestRealtimeClient: typeof Sdk;
  }
}

export const sdk: typeof Sdk = window.NestRealtimeClient;
