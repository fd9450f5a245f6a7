// dev-nexus claims: the package root.
export type { ClaimAuthority, ClaimAuthorityKind } from './claims/authority.js';
export * from './claims/types.js';
export { ClaimAuthorityError, type ClaimAuthorityErrorCode } from './claims/errors.js';
export { checkClaimEvents, type AuditReport, type AuditViolation, type AuditViolationKind } from './claims/audit.js';
export { redact } from './claims/redact.js';
export * from './claims/postgres/index.js';
