// Close reasons are limited to 123 bytes of UTF-8 by the WebSocket protocol.
import { closeReason } from './raw-ws-connection';

describe('closeReason', () => {
  it('keeps a short reason as it is', () => {
    expect(closeReason('Token expired')).toBe('Token expired');
  });

  it('cuts a long non-ASCII reason to at most 123 bytes, on a character boundary', () => {
    const reason = 'Jeton expiré — réessayez '.repeat(10);
    const cut = closeReason(reason);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    expect(Buffer.byteLength(cut)).toBeGreaterThan(115);
    expect(reason.startsWith(cut)).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });
});
