/**
 * `vmpool control-plane build`: builds the real control plane (kube-apiserver, kube-controller-manager, etcd)
 * with Go into `.local/k8s/bin/`, or says in one line why it cannot. Exit codes: 0 built or current, 1 the
 * build failed, 2 no Go or a usage error.
 */
import { buildControlPlane } from "../real";

export async function runControlPlane(
  positionals: readonly string[],
  print: (line: string) => void,
): Promise<number> {
  const [sub, ...extra] = positionals;
  if (sub !== "build" || extra.length > 0) {
    print("usage: vmpool control-plane build");
    return 2;
  }
  const outcome = await buildControlPlane(print);
  switch (outcome.kind) {
    case "no-go":
      print(
        "control-plane build: Go is not installed (go not on PATH); the real control plane needs Go 1.24 or newer",
      );
      return 2;
    case "current":
      print(`control-plane build: up to date in ${outcome.binDir} (nothing to do)`);
      return 0;
    case "built":
      print(
        `control-plane build: built etcd, kube-apiserver, kube-controller-manager into ${outcome.binDir} in ${outcome.seconds.toFixed(0)} s`,
      );
      return 0;
    case "failed":
      print(`control-plane build: go build failed (exit ${outcome.code})`);
      return 1;
  }
}
