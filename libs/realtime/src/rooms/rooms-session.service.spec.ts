import { wantsOutboundBatches } from './rooms-session.service';

describe('wantsOutboundBatches (rooms: ?batch=1 on the connection URL)', () => {
  it.each([
    ['/ws/chat?batch=1', true],
    ['/ws/chat?token=abc&batch=true', true],
    // A percent-encoded name is the same parameter once decoded.
    ['/ws/chat?b%61tch=1', true],
    ['/ws/chat?batch=%31', true],
    // The URL parser removes tabs (which an HTTP request line may hold) and line breaks.
    ['/ws/chat?bat\tch=1', true],
    ['/ws/chat?ba\r\ntch=1', true],
    ['/ws/chat?batch=0', false],
    ['/ws/chat?batch', false],
    ['/ws/chat?xbatch=1', false],
    ['/ws/chat?token=abc', false],
    ['/ws/chat', false],
    [undefined, false],
  ])('%s → %s', (url, expected) => {
    expect(wantsOutboundBatches(url)).toBe(expected);
  });
});
