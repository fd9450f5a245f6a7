import { invalidInput } from './errors.js';
import type { ClaimIdentity, ClaimOwner, LeaseProof } from './types.js';

const MAX_TEXT = 256;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Thirty days: a lease longer than that is almost certainly a unit mistake (seconds for ms). */
export const MAX_LEASE_DURATION_MS = 30 * 24 * 3600 * 1000;

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT || value.includes('\u0000')) {
    throw invalidInput(`${field} must be a non-empty string of at most ${MAX_TEXT} characters without NUL bytes`);
  }
  return value;
}

export function checkIdentity(identity: ClaimIdentity): void {
  requireText(identity?.projectId, 'identity.projectId');
  requireText(identity?.trackerId, 'identity.trackerId');
  requireText(identity?.workItemId, 'identity.workItemId');
}

export function checkOwner(owner: ClaimOwner): void {
  requireText(owner?.hostId, 'owner.hostId');
  requireText(owner?.ownerId, 'owner.ownerId');
  if (owner.agentId !== null) requireText(owner.agentId, 'owner.agentId');
}

/** Lease tokens are UUIDs; the message never repeats the value, which may be a secret. */
export function checkLeaseToken(token: unknown): asserts token is string {
  if (typeof token !== 'string' || !UUID.test(token)) {
    throw invalidInput('leaseToken must be a UUID (the token returned by claim-next); generate one with crypto.randomUUID()');
  }
}

export function checkFencingToken(token: unknown): void {
  if (token === undefined || token === null) return;
  if (typeof token !== 'number' || !Number.isSafeInteger(token) || token < 1) {
    throw invalidInput('fencingToken must be a positive integer (the authorityClaim.fencingToken from claim-next)');
  }
}

export function checkLeaseDuration(ms: unknown): void {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 1 || ms > MAX_LEASE_DURATION_MS) {
    throw invalidInput(`leaseDurationMs must be an integer between 1 and ${MAX_LEASE_DURATION_MS} (milliseconds)`);
  }
}

export function checkProof(proof: LeaseProof): void {
  checkIdentity(proof.identity);
  checkLeaseToken(proof.leaseToken);
  checkFencingToken(proof.fencingToken);
}
