/**
 * The endpoints controller for Services in front of VMs: a Service with a selector gets an Endpoints object of
 * the same name listing the Ready VMIs whose labels match (the launcher pods carry the VMI labels, so this is
 * what kube-controller-manager would list), with each Service port mapped to its target port. Pure builder.
 */
import { fromLabelSelector, matches, type Selector } from "../../../shared/labels";
import type { KObject } from "../store";
import { type Json, rec, recs, str, strMap } from "./json";

/** The Service's selector, or undefined when its Endpoints are not managed by the controller. */
export function serviceSelector(svc: KObject): Selector | undefined {
  const spec = rec(svc.spec) ?? {};
  if (spec.type === "ExternalName") return undefined;
  const selector = strMap(spec.selector);
  if (Object.keys(selector).length === 0) return undefined;
  return fromLabelSelector({ matchLabels: selector });
}

/** One Ready VMI behind a Service. */
export interface EndpointTarget {
  readonly vmi: KObject;
  readonly ip: string;
  readonly nodeName: string | undefined;
  /** The launcher pod, the object Kubernetes' endpoints point at. */
  readonly pod: KObject | undefined;
}

export function selects(selector: Selector, vmi: KObject): boolean {
  return matches(selector, vmi.metadata.labels);
}

/** A named target port resolves against the ports declared on the VMI's interfaces. */
function resolveTargetPort(targetPort: unknown, port: number, vmi: KObject): number | undefined {
  if (typeof targetPort === "number") return targetPort;
  if (typeof targetPort === "string" && targetPort !== "") {
    if (/^\d+$/.test(targetPort)) return Number(targetPort);
    const spec = rec(vmi.spec) ?? {};
    for (const iface of recs(rec(rec(spec.domain)?.devices)?.interfaces)) {
      const found = recs(iface.ports).find((p) => p.name === targetPort && typeof p.port === "number");
      if (found) return found.port as number;
    }
    return undefined;
  }
  return port;
}

/**
 * The Endpoints object for `svc` (without resourceVersion): addresses sorted by IP, grouped into subsets by
 * their resolved ports as `RepackSubsets` does; no subsets at all when nothing is Ready.
 */
export function endpointsFor(svc: KObject, targets: readonly EndpointTarget[]): Json {
  const servicePorts = recs(rec(svc.spec)?.ports);
  const groups = new Map<string, { ports: Json[]; addresses: Json[] }>();
  for (const t of [...targets].sort((a, b) => compareIp(a.ip, b.ip))) {
    const ports: Json[] = [];
    for (const sp of servicePorts) {
      if (typeof sp.port !== "number") continue;
      const resolved = resolveTargetPort(sp.targetPort, sp.port, t.vmi);
      if (resolved === undefined) continue;
      ports.push({
        ...(typeof sp.name === "string" && sp.name !== "" ? { name: sp.name } : {}),
        port: resolved,
        protocol: str(sp.protocol) ?? "TCP",
      });
    }
    if (ports.length === 0 && servicePorts.length > 0) continue;
    const key = JSON.stringify(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, addresses: [] };
      groups.set(key, group);
    }
    const target = t.pod ?? t.vmi;
    group.addresses.push({
      ip: t.ip,
      ...(t.nodeName === undefined ? {} : { nodeName: t.nodeName }),
      targetRef: {
        kind: t.pod ? "Pod" : "VirtualMachineInstance",
        namespace: target.metadata.namespace,
        name: target.metadata.name,
        uid: target.metadata.uid,
      },
    });
  }
  const subsets = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ addresses: g.addresses, ...(g.ports.length > 0 ? { ports: g.ports } : {}) }));
  const labels = strMap(svc.metadata.labels);
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: {
      name: svc.metadata.name,
      namespace: svc.metadata.namespace,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    ...(subsets.length > 0 ? { subsets } : {}),
  };
}

/** Numeric IPv4 order (string order would put 10.244.10.1 before 10.244.2.1). */
function compareIp(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
