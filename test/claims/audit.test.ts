// Table-driven tests of the audit checker over hand-made event histories.
import { describe, expect, it } from 'vitest';
import { checkClaimEvents, type AuditViolationKind } from '../../src/claims/audit.js';
import type { ClaimEvent, ClaimEventKind, ClaimIdentity } from '../../src/claims/types.js';

const ITEM: ClaimIdentity = { projectId: 'proj', trackerId: 'local', workItemId: 'item-1' };
const OTHER: ClaimIdentity = { projectId: 'proj', trackerId: 'local', workItemId: 'item-2' };

/** Time s seconds (fractional allowed, microsecond precision) after 2025-01-01T00:00:00Z, in the database's fixed format. */
function t(seconds: number): string {
  const micros = Math.round(seconds * 1_000_000);
  const whole = Math.floor(micros / 1_000_000);
  const frac = String(micros % 1_000_000).padStart(6, '0');
  const hh = String(Math.floor(whole / 3600)).padStart(2, '0');
  const mm = String(Math.floor((whole % 3600) / 60)).padStart(2, '0');
  const ss = String(whole % 60).padStart(2, '0');
  return `2025-01-01T${hh}:${mm}:${ss}.${frac}Z`;
}

let nextId = 0;
/** One event; eventIds increase in the order events are written unless given. */
function ev(kind: ClaimEventKind, fencingToken: number, at: number, expiresAt: number | null, options: { id?: number; identity?: ClaimIdentity; host?: string } = {}): ClaimEvent {
  const host = options.host ?? `host-${fencingToken}`;
  return {
    eventId: options.id ?? ++nextId,
    identity: options.identity ?? ITEM,
    kind,
    fencingToken,
    owner: { hostId: host, agentId: null, ownerId: `${host}/owner` },
    at: t(at),
    expiresAt: expiresAt === null ? null : t(expiresAt),
  };
}
const grant = (f: number, at: number, exp: number, o?: Parameters<typeof ev>[4]) => ev('granted', f, at, exp, o);
const reclaim = (f: number, at: number, exp: number, o?: Parameters<typeof ev>[4]) => ev('reclaimed', f, at, exp, o);
const beat = (f: number, at: number, exp: number, o?: Parameters<typeof ev>[4]) => ev('heartbeat', f, at, exp, o);
const release = (f: number, at: number, o?: Parameters<typeof ev>[4]) => ev('released', f, at, null, o);

describe('time helper', () => {
  it('renders the fixed microsecond format', () => {
    expect(t(0)).toBe('2025-01-01T00:00:00.000000Z');
    expect(t(3725.000001)).toBe('2025-01-01T01:02:05.000001Z');
    expect(t(59.999999) < t(60)).toBe(true);
  });
});

describe('checkClaimEvents', () => {
  it('accepts a clean history: grant, heartbeats, release, regrant, reclaim after expiry', () => {
    const events = [
      grant(1, 0, 60),
      beat(1, 30, 90),
      beat(1, 89.999999, 150),
      release(1, 100),
      grant(2, 100, 160),
      beat(2, 110, 170),
      reclaim(3, 170.5, 230),
      beat(3, 200, 260),
      release(3, 259),
    ];
    const report = checkClaimEvents(events);
    expect(report).toEqual({ ok: true, itemsChecked: 1, eventsChecked: 9, grants: 3, violations: [] });
  });

  it('accepts an empty history', () => {
    expect(checkClaimEvents([])).toEqual({ ok: true, itemsChecked: 0, eventsChecked: 0, grants: 0, violations: [] });
  });

  type Case = [name: string, events: () => ClaimEvent[], expected: { kind: AuditViolationKind; event: number }[]];
  // `event` is the index (in the given list) of the event that must be flagged.
  const cases: Case[] = [
    ['a grant before the previous lease expired', () => [grant(1, 0, 60), grant(2, 59.999999, 120)], [{ kind: 'overlapping_leases', event: 1 }]],
    ['a reclaim before the previous lease expired', () => [grant(1, 0, 60), reclaim(2, 30, 90)], [{ kind: 'overlapping_leases', event: 1 }]],
    ['a grant before a heartbeat-extended lease ended', () => [grant(1, 0, 60), beat(1, 50, 110), grant(2, 100, 160)], [{ kind: 'overlapping_leases', event: 2 }]],
    ['a grant before the previous release', () => [grant(1, 0, 60), release(1, 40), grant(2, 39, 100)], [{ kind: 'overlapping_leases', event: 2 }]],
    ['a repeated fencing token', () => [grant(1, 0, 60), grant(1, 60, 120)], [{ kind: 'fencing_not_increasing', event: 1 }]],
    ['a decreasing fencing token', () => [grant(5, 0, 60), release(5, 10), grant(4, 20, 80)], [{ kind: 'fencing_not_increasing', event: 2 }]],
    [
      'an overlapping grant with a non-increasing fencing token (both flagged)',
      () => [grant(2, 0, 60), grant(2, 30, 90)],
      [{ kind: 'overlapping_leases', event: 1 }, { kind: 'fencing_not_increasing', event: 1 }],
    ],
    ['a heartbeat after expiry', () => [grant(1, 0, 60), beat(1, 60.000001, 120)], [{ kind: 'stale_token_accepted', event: 1 }]],
    ['a heartbeat after expiry of a renewed lease', () => [grant(1, 0, 60), beat(1, 50, 70), beat(1, 70.5, 130)], [{ kind: 'stale_token_accepted', event: 2 }]],
    ['a heartbeat with a superseded fencing token', () => [grant(1, 0, 60), grant(2, 60, 120), beat(1, 61, 121)], [{ kind: 'stale_token_accepted', event: 2 }]],
    ['a heartbeat with a fencing token never granted', () => [grant(1, 0, 60), beat(2, 10, 70)], [{ kind: 'stale_token_accepted', event: 1 }]],
    ['a heartbeat after release', () => [grant(1, 0, 60), release(1, 10), beat(1, 20, 80)], [{ kind: 'stale_token_accepted', event: 2 }]],
    ['a release after release', () => [grant(1, 0, 60), release(1, 10), release(1, 20)], [{ kind: 'stale_token_accepted', event: 2 }]],
    ['a release after expiry', () => [grant(1, 0, 60), release(1, 61)], [{ kind: 'stale_token_accepted', event: 1 }]],
    ['a release by a superseded fencing token', () => [grant(1, 0, 60), reclaim(2, 61, 120), release(1, 70)], [{ kind: 'stale_token_accepted', event: 2 }]],
    ['a heartbeat with no grant', () => [beat(1, 0, 60)], [{ kind: 'stale_token_accepted', event: 0 }]],
    ['a release with no grant', () => [release(1, 0)], [{ kind: 'stale_token_accepted', event: 0 }]],
  ];

  it.each(cases)('flags %s', (_name, make, expected) => {
    const events = make();
    const report = checkClaimEvents(events);
    expect(report.ok).toBe(false);
    expect(report.violations.map((v) => ({ kind: v.kind, eventId: v.eventId, identity: v.identity }))).toEqual(
      expected.map((x) => ({ kind: x.kind, eventId: events[x.event]!.eventId, identity: ITEM })),
    );
    for (const violation of report.violations) expect(violation.detail.length).toBeGreaterThan(0);
  });

  it.each<[string, () => ClaimEvent[]]>([
    ['a grant exactly at the previous expiry', () => [grant(1, 0, 60), grant(2, 60, 120)]],
    ['a reclaim exactly at the heartbeat-extended expiry', () => [grant(1, 0, 60), beat(1, 30, 90), reclaim(2, 90, 150)]],
    ['a grant exactly at the previous release', () => [grant(1, 0, 60), release(1, 40), grant(2, 40, 100)]],
    ['a heartbeat exactly at expiry (clamped by the statement)', () => [grant(1, 0, 60), beat(1, 60, 120)]],
    ['a release exactly at expiry (clamped by the statement)', () => [grant(1, 0, 60), release(1, 60)]],
    ['a fencing token that skips values', () => [grant(1, 0, 60), grant(7, 60, 120)]],
    ['a first grant with a fencing token above 1', () => [grant(9, 0, 60)]],
  ])('accepts %s', (_name, make) => {
    expect(checkClaimEvents(make()).violations).toEqual([]);
  });

  it('sorts events by eventId before checking', () => {
    const history = [grant(1, 0, 60, { id: 1 }), beat(1, 30, 90, { id: 2 }), release(1, 40, { id: 3 }), grant(2, 50, 110, { id: 4 })];
    const shuffled = [history[3]!, history[1]!, history[2]!, history[0]!];
    expect(checkClaimEvents(shuffled)).toMatchObject({ ok: true, eventsChecked: 4, grants: 2 });

    // The same events with ids swapped (release written before the heartbeat) are a violation,
    // which shows the order comes from eventId and not from the array or from `at`.
    const reordered = [grant(1, 0, 60, { id: 1 }), beat(1, 30, 90, { id: 3 }), release(1, 40, { id: 2 })];
    const report = checkClaimEvents(reordered);
    expect(report.violations.map((v) => [v.kind, v.eventId])).toEqual([['stale_token_accepted', 3]]);
  });

  it('does not change the given array', () => {
    const events = [grant(2, 60, 120, { id: 2 }), grant(1, 0, 60, { id: 1 })];
    const copy = structuredClone(events);
    checkClaimEvents(events);
    expect(events).toEqual(copy);
  });

  it('checks items independently', () => {
    const events = [
      grant(1, 0, 60),
      grant(1, 10, 70, { identity: OTHER }), // same fencing token and overlapping times, but another item
      beat(1, 50, 110),
      beat(1, 60, 120, { identity: OTHER }),
      release(1, 100, { identity: OTHER }),
      release(1, 100),
    ];
    expect(checkClaimEvents(events)).toEqual({ ok: true, itemsChecked: 2, eventsChecked: 6, grants: 2, violations: [] });
  });

  it('tells items apart by project, tracker and work item id', () => {
    const ids: ClaimIdentity[] = [
      ITEM,
      { ...ITEM, projectId: 'proj-2' },
      { ...ITEM, trackerId: 'github:org/repo' },
      // The same characters split differently are other items (no collision by concatenation).
      { projectId: 'proj', trackerId: 'loca', workItemId: 'litem-1' },
      { projectId: 'projl', trackerId: 'ocal', workItemId: 'item-1' },
      { projectId: 'proj', trackerId: 'local:item', workItemId: '-1' },
      { projectId: 'proj', trackerId: 'local', workItemId: 'item:-1' },
    ];
    const report = checkClaimEvents(ids.map((identity, i) => grant(1, i, 60, { identity })));
    expect(report).toMatchObject({ ok: true, itemsChecked: 7, grants: 7 });
  });

  it('reports a violation in one item with that item only', () => {
    const events = [grant(1, 0, 60), grant(1, 0, 60, { identity: OTHER }), grant(2, 30, 90, { identity: OTHER }), grant(2, 60, 120)];
    const report = checkClaimEvents(events);
    expect(report.ok).toBe(false);
    expect(report.violations).toHaveLength(1);
    expect(report.violations[0]).toMatchObject({ kind: 'overlapping_leases', identity: OTHER, eventId: events[2]!.eventId });
  });

  it('compares times with microsecond precision', () => {
    expect(checkClaimEvents([grant(1, 0, 60.000001), grant(2, 60, 120)]).violations.map((v) => v.kind)).toEqual(['overlapping_leases']);
    expect(checkClaimEvents([grant(1, 0, 60), beat(1, 60.000001, 120)]).violations.map((v) => v.kind)).toEqual(['stale_token_accepted']);
  });
});
