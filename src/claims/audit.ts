// The audit checker: proves from the append-only events that the safety invariants held.
// Per item, in event order: no two leases overlap in database time, fencing tokens strictly
// increase across grants, and no heartbeat or release was accepted for a lease that was
// superseded, released or already expired.
import type { ClaimEvent, ClaimIdentity } from './types.js';

export type AuditViolationKind = 'overlapping_leases' | 'fencing_not_increasing' | 'stale_token_accepted';

export interface AuditViolation {
  kind: AuditViolationKind;
  identity: ClaimIdentity;
  eventId: number;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  itemsChecked: number;
  eventsChecked: number;
  grants: number;
  violations: AuditViolation[];
}

interface Lease {
  fencingToken: number;
  /** Expiry, or release time once released. */
  end: string;
  released: boolean;
}

// Times are ISO strings in one fixed format with microseconds (YYYY-MM-DDTHH:MM:SS.ffffffZ),
// so string order is time order and no precision is lost to Date.
function key(identity: ClaimIdentity): string {
  return JSON.stringify([identity.projectId, identity.trackerId, identity.workItemId]);
}

export function checkClaimEvents(events: readonly ClaimEvent[]): AuditReport {
  const ordered = [...events].sort((a, b) => a.eventId - b.eventId);
  const leases = new Map<string, Lease>();
  const violations: AuditViolation[] = [];
  let grants = 0;
  const flag = (kind: AuditViolationKind, event: ClaimEvent, detail: string) =>
    violations.push({ kind, identity: event.identity, eventId: event.eventId, detail });

  for (const event of ordered) {
    const item = key(event.identity);
    const lease = leases.get(item);
    if (event.kind === 'granted' || event.kind === 'reclaimed') {
      grants += 1;
      if (lease && event.at < lease.end) {
        flag('overlapping_leases', event, `fencing ${event.fencingToken} granted at ${event.at} while fencing ${lease.fencingToken} held the item until ${lease.end}`);
      }
      if (lease && event.fencingToken <= lease.fencingToken) {
        flag('fencing_not_increasing', event, `fencing ${event.fencingToken} granted after fencing ${lease.fencingToken}`);
      }
      leases.set(item, { fencingToken: event.fencingToken, end: event.expiresAt ?? event.at, released: false });
      continue;
    }
    const action = event.kind;
    const before = violations.length;
    if (!lease || lease.fencingToken !== event.fencingToken) {
      flag('stale_token_accepted', event, `${action} accepted for fencing ${event.fencingToken}, but the current grant is ${lease ? `fencing ${lease.fencingToken}` : 'none'}`);
    } else if (lease.released) {
      flag('stale_token_accepted', event, `${action} accepted for fencing ${event.fencingToken} after it was released at ${lease.end}`);
    } else if (event.at > lease.end) {
      flag('stale_token_accepted', event, `${action} accepted at ${event.at} for fencing ${event.fencingToken}, whose lease expired at ${lease.end}`);
    }
    // A flagged event is judged, not believed: the current lease stays as it was.
    if (violations.length > before) continue;
    if (action === 'heartbeat') {
      leases.set(item, { fencingToken: event.fencingToken, end: event.expiresAt ?? event.at, released: false });
    } else {
      leases.set(item, { fencingToken: event.fencingToken, end: event.at, released: true });
    }
  }
  return { ok: violations.length === 0, itemsChecked: leases.size, eventsChecked: ordered.length, grants, violations };
}
