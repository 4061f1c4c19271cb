/**
 * A static scan of how the code calls the `Kube` client, with the TypeScript type checker: every call of a Kube
 * method (found by the method's declaration, whatever the receiver is named), the kinds its first argument can be
 * (a string-literal union from the checker, e.g. `ref.kind: PoolKind` → both pool kinds) and, for `patch`, the
 * subresources its options can name. A call whose kind is not a literal union narrower than every kind is
 * reported as dynamic, and a Kube method used as a value (not called) as escaping: the RBAC test must account for
 * both explicitly instead of guessing.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import type { KindName, KubeMethod, Subresource } from "../../shared/kube";

export interface KubeCall {
  /** `path:line` relative to the repository. */
  readonly site: string;
  readonly file: string;
  readonly method: KubeMethod;
  /** The kinds the call can address; undefined when the checker cannot narrow them (dynamic). */
  readonly kinds: readonly KindName[] | undefined;
  /** For patch: the subresources its options can name (undefined = the object itself). */
  readonly subresources: readonly (Subresource | undefined)[];
}

export interface KubeUsage {
  readonly calls: readonly KubeCall[];
  /** Kube methods referenced without being called (`const f = kube.list`). */
  readonly escapes: readonly string[];
}

const NO_REQUEST = new Set(["withDeadline", "stats", "resetStats"]);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...tsFiles(path));
    else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function literalStrings(type: ts.Type): { values: string[]; open: boolean; undef: boolean } {
  const parts = type.isUnion() ? type.types : [type];
  const values: string[] = [];
  let open = false;
  let undef = false;
  for (const part of parts) {
    if (part.isStringLiteral()) values.push(part.value);
    else if (part.flags & ts.TypeFlags.Undefined) undef = true;
    else open = true;
  }
  return { values, open, undef };
}

/** Is `symbol` a method of the `Kube` interface in shared/kube/client.ts? */
function isKubeMethod(symbol: ts.Symbol | undefined, clientFile: string): boolean {
  return (symbol?.declarations ?? []).some(
    (d) =>
      ts.isMethodSignature(d) &&
      ts.isInterfaceDeclaration(d.parent) &&
      d.parent.name.text === "Kube" &&
      d.getSourceFile().fileName === clientFile,
  );
}

/** The member names of the `Kube` interface. */
function kubeMethodNames(client: ts.SourceFile | undefined): Set<string> {
  const names = new Set<string>();
  const kube = client?.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === "Kube");
  if (kube && ts.isInterfaceDeclaration(kube)) {
    for (const member of kube.members)
      if (member.name && ts.isIdentifier(member.name)) names.add(member.name.text);
  }
  if (names.size === 0) throw new Error("cannot find the Kube interface in shared/kube/client.ts");
  return names;
}

/**
 * Scans every TypeScript file under `dirs` (relative to `root`), skipping paths under `exclude` (the kube layer's
 * own implementation, whose requests are described by its access table).
 */
export function scanKubeUsage(
  root: string,
  dirs: readonly string[],
  exclude: readonly string[],
  allKinds: readonly KindName[],
): KubeUsage {
  const files = dirs
    .flatMap((dir) => tsFiles(join(root, dir)))
    .filter((file) => !exclude.some((prefix) => relative(root, file).startsWith(prefix)));
  const clientFile = join(root, "shared/kube/client.ts");
  const config = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  // Only our own modules are resolved: package types (client-node, the AWS SDK, zod) would cost tens of seconds,
  // and a kind typed through one of them degrades to `any`, which the scan reports as dynamic instead of guessing.
  const options = { ...parsed.options, types: [] };
  const host = ts.createCompilerHost(options);
  host.resolveModuleNames = (names, containing) =>
    names.map((name) =>
      name.startsWith(".") ? ts.resolveModuleName(name, containing, options, host).resolvedModule : undefined,
    );
  const program = ts.createProgram({ rootNames: [...files, clientFile], options, host });
  const checker = program.getTypeChecker();
  const methodNames = kubeMethodNames(program.getSourceFile(clientFile));
  const calls: KubeCall[] = [];
  const escapes: string[] = [];

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    const where = (node: ts.Node) =>
      `${relative(root, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (
        ts.isPropertyAccessExpression(node) &&
        // Cheap name test first: asking the checker about every property access costs seconds.
        methodNames.has(node.name.text) &&
        isKubeMethod(checker.getSymbolAtLocation(node.name), clientFile)
      ) {
        const method = node.name.text;
        const call = node.parent;
        const called = ts.isCallExpression(call) && call.expression === node;
        if (!called) escapes.push(`${where(node)} ${method}`);
        else if (!NO_REQUEST.has(method)) calls.push(describeCall(call, method as KubeMethod, where(node)));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { calls, escapes };

  function describeCall(call: ts.CallExpression, method: KubeMethod, site: string): KubeCall {
    const kindArg = call.arguments[0];
    let kinds: KindName[] | undefined;
    if (kindArg && method !== "recordEvent" && method !== "acquireLease") {
      const { values, open } = literalStrings(checker.getTypeAtLocation(kindArg));
      const known = values.filter((v): v is KindName => (allKinds as readonly string[]).includes(v));
      // `KindName` itself (every kind) says nothing about what this call really touches.
      kinds = open || known.length !== values.length || known.length === allKinds.length ? undefined : known;
    } else kinds = [];
    const subresources: (Subresource | undefined)[] = [undefined];
    const options = call.arguments[5];
    if (method === "patch" && options) {
      const property = checker.getTypeAtLocation(options).getProperty("subresource");
      if (property) {
        const { values, undef } = literalStrings(checker.getTypeOfSymbolAtLocation(property, options));
        subresources.length = 0;
        if (undef || values.length === 0) subresources.push(undefined);
        for (const value of values) subresources.push(value as Subresource);
      }
    }
    return { site, file: site.slice(0, site.lastIndexOf(":")), method, kinds, subresources };
  }
}
