/**
 * A function runtime wired to a test cluster: a real `Kube` over HTTP, dev-mode settings, a seeded random source,
 * and `tick()` — one reconcile-all pass, as the scheduler would fire it.
 */
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { type Runtime, settingsFromEnv } from "../../functions/runtime";
import { createKube } from "../../shared/kube";
import { seededRandom } from "../../shared/planning";
import { type PassResult, reconcileAll } from "../../shared/reconcile";
import type { TestCluster } from "./local-cluster";

export interface Reconciler {
  readonly runtime: Runtime;
  /** One reconcile-all pass. */
  tick(): Promise<PassResult[]>;
}

let holders = 0;

export function reconciler(
  env: TestCluster,
  secrets: Runtime["secrets"] = {},
  settings: Record<string, string> = {},
): Reconciler {
  const runtime = createRuntime({
    kube: createKube({ kind: "kubeconfig", path: env.kubeconfig }),
    secrets,
    settings: settingsFromEnv(settings),
    devMode: true,
    random: seededRandom(7),
  });
  return {
    runtime,
    tick: () => reconcileAll(passDeps(runtime, `test-${++holders}`)),
  };
}
