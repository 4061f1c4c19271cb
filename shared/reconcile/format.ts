/**
 * Renders a pass result the way `terraform plan` reads: one line per write with a symbol (+ create, - delete,
 * ~ update/patch, > release), the object and the reason, then the status change and a summary line.
 */
import type { Action } from "../planning";
import type { PassResult } from "./types";
import { formatRef } from "./types";

const SYMBOLS: Record<string, string> = {
  createVM: "+",
  createVMI: "+",
  createRevision: "+",
  deleteVM: "-",
  deleteVMI: "-",
  deleteRevision: "-",
  restartVM: "~",
  updateVM: "~",
  patchVMILabels: "~",
  addPoolFinalizer: "~",
  removePoolFinalizer: "~",
  annotateReplicaSet: "~",
  adoptVMI: "~",
  releaseVM: ">",
  releaseVMI: ">",
  releaseVolume: ">",
};

function targetOf(action: Action): string {
  const t = action.target;
  if (t.name) return `${t.kind}/${t.name}`;
  const body = action.write.verb === "create" ? action.write.body : {};
  const generateName = (body.metadata as { generateName?: string } | undefined)?.generateName ?? "";
  return `${t.kind}/${generateName}<random>`;
}

/** The plan of a pass as text (also used for chat `plan` replies and `vmpool reconcile --dry-run`). */
export function formatPlan(result: PassResult): string {
  const lines: string[] = [
    `${formatRef(result.ref)}: ${result.outcome} (${result.reason}) — ${result.message}`,
  ];
  const plan = result.plan;
  if (!plan) return lines.join("\n");
  for (const action of plan.actions) {
    lines.push(`  ${SYMBOLS[action.kind] ?? "~"} ${targetOf(action).padEnd(48)} # ${action.reason}`);
  }
  if (plan.status?.changed) {
    const before = plan.status.current ?? {};
    const after = plan.status.desired;
    lines.push(
      `  ~ status: replicas ${before.replicas ?? 0} → ${after.replicas ?? 0}, ready ${before.readyReplicas ?? 0} → ${after.readyReplicas ?? 0}`,
    );
  }
  for (const note of plan.notes) lines.push(`  # ${note.reason}: ${note.message}`);
  const s = plan.summary;
  const counts = { "+": 0, "-": 0, "~": 0, ">": 0 } as Record<string, number>;
  for (const action of plan.actions) {
    const sym = SYMBOLS[action.kind] ?? "~";
    counts[sym] = (counts[sym] ?? 0) + 1;
  }
  lines.push(
    `  desired ${s.desired}, current ${s.current}, ready ${s.ready} — plan: ${counts["+"]} to create, ${counts["~"]} to change, ${counts["-"]} to delete, ${counts[">"]} to release`,
  );
  return lines.join("\n");
}
