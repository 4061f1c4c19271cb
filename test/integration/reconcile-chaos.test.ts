/**
 * The chaos soak, bounded (issue 10): three pools, a fixed seed, four seconds of random scale changes, overlapping
 * timer, CLI and webhook passes and injected faults (latency, 409s on every verb, 429s, 500s, dropped
 * connections), with a kill -9 of the API server (its own process, journaled) after two seconds. Asserted:
 * - every VM create a pass issued was fresh — the pass's latest read of the pool's spec came after its previous
 *   create batch had completed — and within it: VMs counted when the pass planned + creates issued so far ≤ that
 *   `spec.replicas` (worst excess 0 VMs above the spec as read at most one batch earlier);
 * - every pool reaches its spec, nothing terminating, within 30 s of the faults stopping;
 * - no acknowledged write is lost (spec changes, probe Lease creates, VM creates never deleted since);
 * - no reconcile-all pass throws and no webhook answers 5xx.
 * The full soak, with its figures, is `npm run bench -- chaos`.
 */
import { expect, it } from "vitest";
import { runSoak } from "../bench/chaos";

it("bounded chaos soak: no create above the spec read one batch earlier, convergence, no acknowledged write lost", async () => {
  const report = await runSoak({
    seed: 7,
    pools: 3,
    maxReplicas: 10,
    chaosMs: 4_000,
    killAtMs: 2_000,
    faultRate: 0.2,
    convergeTimeoutMs: 30_000,
  });
  expect(report.creates).toBeGreaterThan(0);
  expect(report.staleCreates).toBe(0);
  expect(report.worstExcessAtCreate).toBeLessThanOrEqual(0);
  expect(report.convergenceMs).toBeDefined();
  expect(report.lost).toEqual([]);
  expect(report.acknowledged.specChanges).toBeGreaterThan(3);
  expect(report.acknowledged.probes).toBeGreaterThan(10);
  expect(report.crashes).toBe(0);
}, 120_000);
