/**
 * What the lab says about serving endpoints, without UI dependencies (shared by the
 * Serving section of the model view and the archive confirmation).
 */
import type { ServingArm, ServingEndpoint } from './api/schema';

/** Live endpoints whose arms serve `version` of the model, as `url (arm)` descriptions. */
export function servingVersion(
  endpoints: ServingEndpoint[],
  version: number
): string[] {
  const found: string[] = [];
  for (const endpoint of endpoints) {
    for (const arm of endpoint.arms) {
      if (endpoint.live && arm.version === version) {
        found.push(`${endpoint.url} (${arm.arm})`);
      }
    }
  }
  return found;
}

/** `champion v3 · 90%`, `canary v4 · 10%`, `shadow v4 · mirror`. */
export function describeArm(arm: ServingArm): string {
  const version = arm.version === null ? 'not loaded' : `v${arm.version}`;
  const share =
    arm.arm === 'shadow' ? 'mirror' : `${Math.round(arm.share * 1000) / 10}%`;
  return `${arm.arm} ${version} · ${share}`;
}
