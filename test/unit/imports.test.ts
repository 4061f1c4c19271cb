/**
 * The import rules of the layout (issue 11), checked over the sources' own import statements:
 * - the planner (`shared/planning`) is pure: nothing it loads at run time, directly or through other modules,
 *   is zod, a Node built-in, or an I/O library (`import type` is erased and does not count);
 * - `functions/` and `shared/` never import `infra/` (deployment and the development doubles);
 * - one module talks to Kubernetes (`shared/kube` imports `@kubernetes/client-node`) and one to AWS (the AWS SDK).
 * Today's exceptions are listed in `KNOWN`, each with the issue-11 move that removes it. The check fails on a new
 * violation and on a listed one that is gone, so the list only shrinks.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const IO_PACKAGES =
  /^(zod|pino|prom-client|@kubernetes\/client-node|@aws-sdk\/|@smithy\/|@hono\/node-server|node:|p-map$)/;
const SDK = {
  kubernetes: /^@kubernetes\/client-node$/,
  aws: /^(@aws-sdk\/|@smithy\/)/,
};
/**
 * Where each SDK may be imported. `shared/kube/eks.ts` presigns the STS request that is an EKS token with the SDK's
 * signer (no AWS call): the Kubernetes port's own business.
 */
const OWNERS: Readonly<Record<keyof typeof SDK, readonly string[]>> = {
  kubernetes: ["shared/kube/"],
  aws: ["infra/aws/", "shared/kube/eks.ts"],
};

/** Violations that exist today, each removed by a move issue 11 asks for; keys are `rule: file -> import`. */
const KNOWN: Readonly<Record<string, string>> = {
  "pure: shared/planning/hpa/history.ts -> zod":
    "move the HPA history codec (persistence) out of the planner",
  "pure: shared/schemas/hpa.ts -> zod":
    "move HPA normalisation and quantity parsing out of shared/schemas/hpa.ts",
  "pure: shared/schemas/kubevirt.ts -> zod":
    "the planner imports only types (and pure constants) from the schemas",
  "infra: functions/autoscale/handler.ts -> infra/aws": "move the runtime AWS code into shared/events",
  "infra: functions/chatops/handler.ts -> infra/aws": "move the runtime AWS code into shared/events",
  "infra: functions/reconcile/events.ts -> infra/aws": "move the runtime AWS code into shared/events",
  "infra: functions/reconcile/handler.ts -> infra/aws": "move the runtime AWS code into shared/events",
  "infra: shared/autoscale/sources/cloudwatch.ts -> infra/aws":
    "move the runtime AWS code into shared/events",
  "sdk: infra/local/simulator/api/client.ts -> @kubernetes/client-node":
    "the simulator's client through shared/kube",
  "sdk: shared/autoscale/sources/cloudwatch-metrics.ts -> @aws-sdk": "one AWS client module (shared/events)",
};

interface Import {
  readonly specifier: string;
  /** False for `import type` / `export type`: erased at compile time. */
  readonly runtime: boolean;
}

/** The import and re-export specifiers of a TypeScript source (static and dynamic). */
function importsOf(text: string): Import[] {
  const out: Import[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^"'`;]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (const m of text.matchAll(statement)) {
    const specifier = m[3] as string;
    // `import { type A, type B } from` is erased too when every name is a type.
    const clause = m[0];
    const braces = /\{([^}]*)\}/.exec(clause)?.[1];
    const allTypes =
      braces !== undefined &&
      !/^\s*(import|export)\s+[\w$]+\s*,/.test(clause) &&
      braces
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith("type "));
    out.push({ specifier, runtime: m[2] === undefined && !allTypes });
  }
  for (const m of text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g))
    out.push({ specifier: m[1] as string, runtime: true });
  return out;
}

function sources(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs).flatMap((name) => {
    const path = join(abs, name);
    if (statSync(path).isDirectory()) return name === "node_modules" ? [] : sources(join(dir, name));
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [join(dir, name)] : [];
  });
}

/** A relative specifier resolved to a repository file (`x`, `x.ts`, `x.tsx`, `x/index.ts`), or undefined. */
function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(ROOT, dirname(from), specifier);
  for (const candidate of [
    base,
    `${base}.ts`,
    `${base}.tsx`,
    join(base, "index.ts"),
    join(base, "index.tsx"),
  ]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(ROOT, candidate);
  }
  return undefined;
}

const FILES = [...sources("functions"), ...sources("shared"), ...sources("infra")];
const IMPORTS = new Map(FILES.map((f) => [f, importsOf(readFileSync(join(ROOT, f), "utf8"))]));

function violations(): Set<string> {
  const found = new Set<string>();
  // Purity: the planner's run-time closure.
  for (const start of FILES.filter((f) => f.startsWith("shared/planning/"))) {
    const seen = new Set<string>();
    const queue = [start];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const imp of IMPORTS.get(file) ?? importsOf(readFileSync(join(ROOT, file), "utf8"))) {
        if (!imp.runtime) continue;
        const target = resolveRelative(file, imp.specifier);
        if (target) queue.push(target);
        else if (IO_PACKAGES.test(imp.specifier))
          found.add(`pure: ${file} -> ${imp.specifier.replace(/\/.*$/, "")}`);
      }
    }
  }
  for (const [file, imports] of IMPORTS) {
    for (const imp of imports) {
      const target = resolveRelative(file, imp.specifier);
      if ((file.startsWith("functions/") || file.startsWith("shared/")) && target?.startsWith("infra/")) {
        found.add(`infra: ${file} -> ${target.split("/").slice(0, 2).join("/")}`);
      }
      for (const [sdk, pattern] of Object.entries(SDK) as [keyof typeof SDK, RegExp][]) {
        if (pattern.test(imp.specifier) && !OWNERS[sdk].some((owner) => file.startsWith(owner))) {
          found.add(`sdk: ${file} -> ${sdk === "aws" ? "@aws-sdk" : imp.specifier}`);
        }
      }
    }
  }
  return found;
}

describe("import rules", () => {
  const found = violations();

  it("reads the sources' imports (the check has something to check)", () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(IMPORTS.get("shared/kube/client.ts")?.some((i) => i.specifier === "@kubernetes/client-node")).toBe(
      true,
    );
    // type-only imports are told apart from run-time ones
    expect(
      importsOf(
        'import type { A } from "zod";\nimport { type B, type C } from "./x";\nimport { D } from "./y";',
      ),
    ).toEqual([
      { specifier: "zod", runtime: false },
      { specifier: "./x", runtime: false },
      { specifier: "./y", runtime: true },
    ]);
  });

  it("has no violation beyond the known ones", () => {
    expect([...found].filter((v) => !(v in KNOWN)).sort()).toEqual([]);
  });

  it("lists no known violation that is gone (the list only shrinks)", () => {
    expect(Object.keys(KNOWN).filter((v) => !found.has(v))).toEqual([]);
  });
});
