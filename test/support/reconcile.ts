/**
 * A function runtime wired to a test cluster: a real `Kube` over HTTP, dev-mode settings, a seeded random source,
 * and `tick()` — one reconcile-all pass, as the scheduler would fire it.
 */
import { createRuntime, passDeps } from "../../functions/bootstrap";
import { type Runtime, settingsFromEnv } from "../../functions/runtime";
import { createKube } from "../../shared/kube";
import { seededRandom } from "../../shared/planning";
import { type PassResult, reconcileAll } from "../../shared/reconcile";

export interface Reconciler {
  readonly runtime: Runtime;
  /** One reconcile-all pass. */
  tick(): Promise<PassResult[]>;
}

let holders = 0;

/** The kubeconfig the functions use: their own (least-privilege) one where the cluster has it. */
export interface FunctionsCluster {
  readonly kubeconfig: string;
  readonly functionsKubeconfig?: string;
}

export function reconciler(
  env: FunctionsCluster,
  secrets: Runtime["secrets"] = {},
  settings: Record<string, string> = {},
): Reconciler {
  const runtime = createRuntime({
    kube: createKube({ kind: "kubeconfig", path: env.functionsKubeconfig ?? env.kubeconfig }),
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
