// The seed 000 state machine: allowed transitions, refused ones, observers.
import {
  CONNECTION_TRANSITIONS,
  ConnectionState,
  ConnectionStateMachine,
  InvalidTransitionError,
} from './connection-state';

describe('ConnectionStateMachine', () => {
  it('starts in CREATED and follows the nominal path to ACTIVE, reporting each change', () => {
    const machine = new ConnectionStateMachine();
    const changes: Array<[string, string]> = [];
    machine.onChange(({ from, to }) => changes.push([from, to]));
    expect(machine.state).toBe('CREATED');
    for (const to of ['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE'] as const) machine.transition(to);
    expect(changes).toEqual([
      ['CREATED', 'CONNECTING'],
      ['CONNECTING', 'AUTHENTICATING'],
      ['AUTHENTICATING', 'CONNECTED'],
      ['CONNECTED', 'ACTIVE'],
    ]);
  });

  it('passes the reason of a failure to observers', () => {
    const machine = new ConnectionStateMachine();
    const reasons: Array<string | undefined> = [];
    machine.onChange(({ reason }) => reasons.push(reason));
    machine.transition('CONNECTING');
    machine.transition('ERROR', 'AUTH_FAILED: bad token');
    expect(reasons).toEqual([undefined, 'AUTH_FAILED: bad token']);
  });

  it.each([
    ['CREATED', 'ACTIVE'],
    ['CREATED', 'AUTHENTICATING'],
    ['CONNECTING', 'ACTIVE'],
    ['CONNECTING', 'CONNECTED'],
    ['AUTHENTICATING', 'ACTIVE'],
    ['RECONNECTING', 'ACTIVE'],
    ['ACTIVE', 'CONNECTING'],
    ['CLOSED', 'CONNECTING'],
  ] as const)('refuses %s → %s and stays put', (from, to) => {
    const machine = new ConnectionStateMachine();
    const path: Record<string, ConnectionState[]> = {
      CREATED: [],
      CONNECTING: ['CONNECTING'],
      AUTHENTICATING: ['CONNECTING', 'AUTHENTICATING'],
      RECONNECTING: ['CONNECTING', 'RECONNECTING'],
      ACTIVE: ['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE'],
      CLOSED: ['CLOSED'],
    };
    for (const step of path[from] ?? []) machine.transition(step);
    expect(() => machine.transition(to)).toThrow(InvalidTransitionError);
    expect(machine.state).toBe(from);
  });

  it('lets every live state fail to ERROR or be closed, and CLOSED is final', () => {
    for (const state of ['CONNECTING', 'AUTHENTICATING', 'CONNECTED', 'ACTIVE', 'RECONNECTING'] as const) {
      expect(CONNECTION_TRANSITIONS[state]).toEqual(expect.arrayContaining(['ERROR', 'CLOSED']));
    }
    expect(CONNECTION_TRANSITIONS.CLOSED).toEqual([]);
    expect(CONNECTION_TRANSITIONS.ERROR).toEqual(expect.arrayContaining(['RECONNECTING', 'CONNECTING']));
  });

  it('stops reporting to an observer that unsubscribed', () => {
    const machine = new ConnectionStateMachine();
    const seen: string[] = [];
    const off = machine.onChange(({ to }) => seen.push(to));
    machine.transition('CONNECTING');
    off();
    machine.transition('AUTHENTICATING');
    expect(seen).toEqual(['CONNECTING']);
  });
});
