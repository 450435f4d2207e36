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
    ['ACTIVE', 'RECONNECTING'],
    ['CONNECTED', 'RECONNECTING'],
    ['CLOSED', 'CONNECTING'],
  ] as const)('refuses %s → %s and stays put', (from, to) => {
    const machine = new ConnectionStateMachine();
    const path: Record<string, ConnectionState[]> = {
      CREATED: [],
      CONNECTING: ['CONNECTING'],
      AUTHENTICATING: ['CONNECTING', 'AUTHENTICATING'],
      RECONNECTING: ['CONNECTING', 'RECONNECTING'],
      CONNECTED: ['CONNECTING', 'AUTHENTICATING', 'CONNECTED'],
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

  it('follows the seed: a connection that was up reaches RECONNECTING only through ERROR', () => {
    expect(CONNECTION_TRANSITIONS.CONNECTED).not.toContain('RECONNECTING');
    expect(CONNECTION_TRANSITIONS.ACTIVE).not.toContain('RECONNECTING');
    const machine = new ConnectionStateMachine();
    for (const to of [
      'CONNECTING',
      'AUTHENTICATING',
      'CONNECTED',
      'ACTIVE',
      'ERROR',
      'RECONNECTING',
    ] as const) {
      machine.transition(to);
    }
    expect(machine.state).toBe('RECONNECTING');
  });

  it('marks each change final or not: ERROR is final unless told otherwise, CLOSED is final, the rest are not', () => {
    const machine = new ConnectionStateMachine();
    const changes: Array<[string, boolean]> = [];
    machine.onChange(({ to, final }) => changes.push([to, final]));
    machine.transition('CONNECTING');
    machine.transition('ERROR', 'closed 1006', { final: false });
    machine.transition('RECONNECTING', 'closed 1006');
    machine.transition('ERROR', 'gave up');
    machine.transition('CLOSED');
    expect(changes).toEqual([
      ['CONNECTING', false],
      ['ERROR', false],
      ['RECONNECTING', false],
      ['ERROR', true],
      ['CLOSED', true],
    ]);
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
