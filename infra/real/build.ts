/**
 * `vmpool control-plane build`: kube-apiserver and kube-controller-manager from `k8s.io/kubernetes`, and etcd
 * from its own server module, built with the machine's Go from the module in this folder into
 * `.local/k8s/bin/`. A stamp (a hash of go.mod, go.sum, our etcd main and `go version`) makes a second build a
 * no-op; Go's module and build caches make a rebuild after a change incremental.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The folder of the Go module (go.mod, go.sum, cmd/etcd). */
export const GO_MODULE_DIR = resolve(import.meta.dirname);
/** Where the binaries go, relative to the repository root. */
export const DEFAULT_BIN_DIR = resolve(import.meta.dirname, "../../.local/k8s/bin");

/** What is built: the binary name and the package it comes from. */
export const BINARIES = [
  { name: "etcd", pkg: "./cmd/etcd" },
  { name: "kube-apiserver", pkg: "k8s.io/kubernetes/cmd/kube-apiserver" },
  { name: "kube-controller-manager", pkg: "k8s.io/kubernetes/cmd/kube-controller-manager" },
] as const;

export type BinaryName = (typeof BINARIES)[number]["name"];

/** The Kubernetes release the module pins (read from go.mod, so the README and the code never disagree). */
export function kubernetesVersion(): string {
  const mod = readFileSync(join(GO_MODULE_DIR, "go.mod"), "utf8");
  const m = /k8s\.io\/kubernetes v(\d+\.\d+\.\d+)/.exec(mod);
  if (!m?.[1]) throw new Error("infra/real/go.mod does not require k8s.io/kubernetes");
  return m[1];
}

/** `go version`, or undefined when Go is not installed. */
export function goVersion(): string | undefined {
  const run = spawnSync("go", ["version"], { encoding: "utf8" });
  if (run.error || run.status !== 0) return undefined;
  return run.stdout.trim();
}

/**
 * What `kubectl version` and discovery report: Kubernetes' own build sets these through the linker
 * (hack/lib/version.sh); without them the server says v0.0.0-master, which kubectl cannot parse.
 */
export function versionLdflags(version = kubernetesVersion()): string {
  const [major = "", minor = ""] = version.split(".");
  const pkg = "k8s.io/component-base/version";
  return [
    `-X ${pkg}.gitVersion=v${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ].join(" ");
}

function stamp(go: string): string {
  const hash = createHash("sha256");
  hash.update(versionLdflags());
  for (const file of ["go.mod", "go.sum", "cmd/etcd/main.go"])
    hash.update(readFileSync(join(GO_MODULE_DIR, file)));
  hash.update(go);
  return hash.digest("hex");
}

/** Paths of the built binaries, or undefined when any is missing. */
export function builtBinaries(binDir = DEFAULT_BIN_DIR): Record<BinaryName, string> | undefined {
  const paths = Object.fromEntries(BINARIES.map((b) => [b.name, join(binDir, b.name)])) as Record<
    BinaryName,
    string
  >;
  return Object.values(paths).every((p) => existsSync(p)) ? paths : undefined;
}

/** Whether the binaries exist and were built from the module as it is now (by the same Go). */
export function binariesCurrent(binDir = DEFAULT_BIN_DIR, go = goVersion()): boolean {
  if (!go || !builtBinaries(binDir)) return false;
  const stampPath = join(binDir, ".stamp");
  return existsSync(stampPath) && readFileSync(stampPath, "utf8").trim() === stamp(go);
}

export type BuildOutcome =
  | { readonly kind: "no-go" }
  | { readonly kind: "current"; readonly binDir: string }
  | { readonly kind: "built"; readonly binDir: string; readonly seconds: number }
  | { readonly kind: "failed"; readonly code: number };

/**
 * Builds the binaries unless they are current. Go's output streams to `print` line by line so a first build
 * (several minutes) shows progress.
 */
export async function buildControlPlane(
  print: (line: string) => void,
  binDir = DEFAULT_BIN_DIR,
): Promise<BuildOutcome> {
  const go = goVersion();
  if (!go) return { kind: "no-go" };
  if (binariesCurrent(binDir, go)) return { kind: "current", binDir };
  mkdirSync(binDir, { recursive: true });
  const started = Date.now();
  print(`building kube-apiserver, kube-controller-manager ${kubernetesVersion()} and etcd with ${go} …`);
  const code = await new Promise<number>((done) => {
    const child = spawn(
      "go",
      ["build", "-ldflags", versionLdflags(), "-o", `${binDir}/`, ...BINARIES.map((b) => b.pkg)],
      {
        cwd: GO_MODULE_DIR,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const relay = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) print(line);
    };
    child.stdout.on("data", relay);
    child.stderr.on("data", relay);
    child.on("error", () => done(127));
    child.on("close", (status) => done(status ?? 1));
  });
  if (code !== 0) return { kind: "failed", code };
  writeFileSync(join(binDir, ".stamp"), `${stamp(go)}\n`);
  return { kind: "built", binDir, seconds: (Date.now() - started) / 1000 };
}
