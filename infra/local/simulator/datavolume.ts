/**
 * CDI as far as a VM's `spec.dataVolumeTemplates` need it: the DataVolume virt-controller creates from a template
 * (owned by the VM) and the phases CDI reports while it imports or clones (`Pending` → `ImportScheduled` →
 * `ImportInProgress` with `progress` → `Succeeded`, Ready condition True at the end). Pure builders; the
 * simulator decides when.
 */
import type { KObject } from "../store";
import { type Json, rec, recs, str, strMap } from "./json";
import { vmOwnerRef } from "./vm";

/** The DataVolume for one of a VM's `dataVolumeTemplates` (`CreateDataVolumeManifest`). */
export function dataVolumeFromTemplate(vm: KObject, template: Json): Json | undefined {
  const meta = rec(template.metadata) ?? {};
  const name = str(meta.name);
  if (!name) return undefined;
  const labels = strMap(meta.labels);
  const annotations = strMap(meta.annotations);
  return {
    apiVersion: "cdi.kubevirt.io/v1beta1",
    kind: "DataVolume",
    metadata: {
      name,
      namespace: vm.metadata.namespace,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: [vmOwnerRef(vm)],
    },
    spec: structuredClone(rec(template.spec) ?? {}),
  };
}

/** Names of a VM's DataVolume templates. */
export function dataVolumeNames(vm: KObject): string[] {
  const out: string[] = [];
  for (const t of recs(rec(vm.spec)?.dataVolumeTemplates)) {
    const name = str(rec(t.metadata)?.name);
    if (name) out.push(name);
  }
  return out;
}

/** How CDI fills the volume: a clone (`source.pvc`/`snapshot`), an empty disk (`blank`), or an import. */
export type DataVolumeKind = "Import" | "Clone" | "Blank";

export function dataVolumeKind(dv: KObject): DataVolumeKind {
  const spec = rec(dv.spec) ?? {};
  const source = rec(spec.source) ?? {};
  if (source.pvc !== undefined || source.snapshot !== undefined) return "Clone";
  if (source.blank !== undefined) return "Blank";
  return "Import";
}

/** The phase that follows `phase` for this kind of DataVolume ("" when it is done). */
export function nextDataVolumePhase(kind: DataVolumeKind, phase: string): string {
  switch (phase) {
    case "":
      return "Pending";
    case "Pending":
      return kind === "Blank" ? "Succeeded" : `${kind}Scheduled`;
    case "ImportScheduled":
    case "CloneScheduled":
      return `${kind}InProgress`;
    case "ImportInProgress":
    case "CloneInProgress":
      return "Succeeded";
    default:
      return "";
  }
}

/** `status.progress` as CDI prints it: `N/A` before the transfer, `37.50%` during it, `100.0%` when done. */
export function progressText(phase: string, fraction: number): string {
  if (phase === "Succeeded") return "100.0%";
  if (!phase.endsWith("InProgress")) return "N/A";
  return `${(Math.min(1, Math.max(0, fraction)) * 100).toFixed(2)}%`;
}

/** The DataVolume status in `phase` with transfer `progress`; condition transition times survive unchanged ones. */
export function dataVolumeStatus(dv: KObject, phase: string, progress: string, nowIso: string): Json {
  const previous = rec(dv.status) ?? {};
  const claim = dv.metadata.name;
  const bound = phase !== "Pending";
  const done = phase === "Succeeded";
  const running = phase.endsWith("InProgress");
  const wanted: Json[] = [
    bound
      ? { type: "Bound", status: "True", reason: "Bound", message: `PVC ${claim} Bound` }
      : { type: "Bound", status: "False", reason: "Pending", message: `PVC ${claim} Pending` },
    done
      ? { type: "Ready", status: "True" }
      : { type: "Ready", status: "False", reason: bound ? "TransferRunning" : "" },
    running
      ? { type: "Running", status: "True", reason: "Pod is running" }
      : { type: "Running", status: "False", reason: done ? "Completed" : "" },
  ];
  const prev = recs(previous.conditions);
  const conditions = wanted.map((c) => {
    const before = prev.find((p) => p.type === c.type);
    const since = before && before.status === c.status ? before.lastTransitionTime : undefined;
    return { ...c, lastHeartbeatTime: nowIso, lastTransitionTime: since ?? nowIso };
  });
  return { ...previous, phase, progress, claimName: claim, restartCount: 0, conditions };
}
