/**
 * API discovery for the local cluster, computed once from the resource table: aggregated discovery
 * (`apidiscovery.k8s.io` v2 and v2beta1, chosen from the Accept header as client-go offers them) and the legacy
 * documents (`/api`, `/apis`, `/apis/<g>`, `/api/v1`, `/apis/<g>/<v>`) that client-node and old kubectl fall back to.
 * Shapes follow apiserver `endpoints/discovery` and apiextensions' discovery controller.
 */
import { createHash } from "node:crypto";
import { metricsAggregatedGroup, metricsLegacyGroup } from "./metrics-api";
import {
  apiGroups,
  groupVersion,
  RESOURCES,
  type ResourceDef,
  resourceVerbs,
  SUBRESOURCE_VERBS,
} from "./resources";

type Json = Record<string, unknown>;

export type DiscoveryFormat = "v2" | "v2beta1" | "legacy";

/** The aggregated format the client offered (v2 preferred), or legacy. */
export function negotiateDiscovery(accept: string | undefined): DiscoveryFormat {
  if (!accept) return "legacy";
  const offers = accept.split(",").map((part) => part.trim());
  const aggregated = (version: string) =>
    offers.some((o) => {
      const params = o.split(";").map((p) => p.trim());
      return (
        params.includes("g=apidiscovery.k8s.io") &&
        params.includes(`v=${version}`) &&
        params.includes("as=APIGroupDiscoveryList")
      );
    });
  if (aggregated("v2")) return "v2";
  if (aggregated("v2beta1")) return "v2beta1";
  return "legacy";
}

export function aggregatedContentType(format: "v2" | "v2beta1"): string {
  return `application/json;g=apidiscovery.k8s.io;v=${format};as=APIGroupDiscoveryList`;
}

function sortedResources(group: string, version: string): ResourceDef[] {
  return RESOURCES.filter((r) => r.group === group && r.versions.includes(version)).sort((a, b) =>
    a.plural.localeCompare(b.plural),
  );
}

/**
 * Verbs as discovery lists them: CRDs in apiextensions' order; built-ins sorted (apiserver `installer.go`), and a
 * Namespace has no deletecollection.
 */
function verbsOf(def: ResourceDef): readonly string[] {
  if (!def.builtin || def.review) return resourceVerbs(def);
  const verbs = [...resourceVerbs(def)].sort();
  return def.kind === "Namespace" ? verbs.filter((v) => v !== "deletecollection") : verbs;
}

/** apiserver `discovery.StorageVersionHash`: the first 8 bytes of sha256("<group>/<storage version>/<Kind>"). */
export function storageVersionHash(def: ResourceDef): string {
  const gvk = `${def.group}/${def.storageVersion}/${def.kind}`;
  return createHash("sha256").update(gvk).digest().subarray(0, 8).toString("base64");
}

/** Built-in kinds' aggregated entries leave group and version to the enclosing group-version. */
function responseKind(def: ResourceDef, version: string, kind = def.kind): Json {
  return def.builtin ? { group: "", version: "", kind } : { group: def.group, version, kind };
}

function resourceDiscovery(def: ResourceDef, version: string): Json {
  const subresources: Json[] = [];
  if (def.kind === "Pod")
    subresources.push({ subresource: "log", responseKind: responseKind(def, version), verbs: ["get"] });
  if (def.statusSubresource) {
    subresources.push({
      subresource: "status",
      responseKind: responseKind(def, version),
      verbs: SUBRESOURCE_VERBS,
    });
  }
  if (def.scale) {
    subresources.push({
      subresource: "scale",
      responseKind: { group: "autoscaling", version: "v1", kind: "Scale" },
      verbs: SUBRESOURCE_VERBS,
    });
  }
  return {
    resource: def.plural,
    responseKind: responseKind(def, version),
    scope: def.namespaced ? "Namespaced" : "Cluster",
    singularResource: def.singular,
    verbs: verbsOf(def),
    ...(def.shortNames.length > 0 ? { shortNames: def.shortNames } : {}),
    ...(def.categories.length > 0 ? { categories: def.categories } : {}),
    ...(subresources.length > 0 ? { subresources } : {}),
  };
}

function aggregatedGroup(name: string, versions: readonly string[]): Json {
  return {
    metadata: name === "" ? {} : { name },
    versions: versions.map((version) => ({
      version,
      resources: sortedResources(name, version).map((r) => resourceDiscovery(r, version)),
      freshness: "Current",
    })),
  };
}

/** Aggregated discovery for `/api` (core) or `/apis` (named groups). */
export function aggregatedDiscovery(core: boolean, format: "v2" | "v2beta1"): Json {
  const items = core
    ? [aggregatedGroup("", ["v1"])]
    : [...apiGroups().map((g) => aggregatedGroup(g.name, g.versions)), metricsAggregatedGroup()];
  return { kind: "APIGroupDiscoveryList", apiVersion: `apidiscovery.k8s.io/${format}`, metadata: {}, items };
}

export function legacyApiVersions(serverAddress: string): Json {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function legacyGroup(name: string, versions: readonly string[]): Json {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: list, preferredVersion: list[0] };
}

export function legacyGroupList(): Json {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    // metrics.k8s.io is an aggregated API (./metrics-api.ts), listed after the built-in and CRD groups.
    groups: [...apiGroups().map((g) => legacyGroup(g.name, g.versions)), metricsLegacyGroup()],
  };
}

/** `/apis/<group>`, or undefined for an unknown group. */
export function legacyGroupDocument(group: string): Json | undefined {
  const found = apiGroups().find((g) => g.name === group);
  return found
    ? { kind: "APIGroup", apiVersion: "v1", ...legacyGroup(found.name, found.versions) }
    : undefined;
}

/** `/api/v1` or `/apis/<g>/<v>`: main resources, each followed by its subresources. */
export function legacyResourceList(group: string, version: string): Json | undefined {
  const defs = sortedResources(group, version);
  if (defs.length === 0) return undefined;
  const resources: Json[] = [];
  for (const def of defs) {
    resources.push({
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: verbsOf(def),
      ...(def.shortNames.length > 0 ? { shortNames: def.shortNames } : {}),
      ...(def.categories.length > 0 ? { categories: def.categories } : {}),
      ...(def.review ? {} : { storageVersionHash: storageVersionHash(def) }),
    });
    if (def.kind === "Pod") {
      resources.push({ name: "pods/log", singularName: "", namespaced: true, kind: "Pod", verbs: ["get"] });
    }
    if (def.statusSubresource) {
      resources.push({
        name: `${def.plural}/status`,
        singularName: "",
        namespaced: def.namespaced,
        kind: def.kind,
        verbs: SUBRESOURCE_VERBS,
      });
    }
    if (def.scale) {
      resources.push({
        name: `${def.plural}/scale`,
        singularName: "",
        namespaced: def.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: SUBRESOURCE_VERBS,
      });
    }
  }
  // The core group's list carries no apiVersion; named groups' do.
  return {
    kind: "APIResourceList",
    ...(group === "" ? {} : { apiVersion: "v1" }),
    groupVersion: groupVersion(group, version),
    resources,
  };
}

/** `/version`: a plausible kube-apiserver version (kubectl warns only beyond ±1 minor of skew). */
export function versionInfo(): Json {
  return {
    major: "1",
    minor: "32",
    gitVersion: "v1.32.0-vmpool-local",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.23",
    compiler: "gc",
    platform: "linux/amd64",
  };
}
