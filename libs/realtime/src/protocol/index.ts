// Wire types, transport-free: imported by the server, the client SDK and the tests.
export * from './error-codes';
export * from './events.protocol';
export * from './envelope';
export * from './rooms.protocol';
export * from './chat.protocol';
export * from './stream.protocol';
