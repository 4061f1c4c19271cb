/**
 * Regenerates test/fixtures/protobuf/: the request bodies real kubectl binaries send for `kubectl autoscale` and
 * `kubectl create namespace|configmap`, captured from a throwaway 127.0.0.1 server. Protobuf bodies come from
 * kubectl 1.32/1.33; the JSON references from kubectl 1.31 (the last version that sent JSON for these commands).
 *
 *   npx tsx test/support/capture-protobuf-fixtures.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CapturedRequest, captureKubectlWrites, kubectlBinary } from "./capture-server";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "protobuf");

interface Capture {
  readonly version: string;
  readonly args: readonly string[];
  /** One fixture name per expected write request, in order. */
  readonly names: readonly string[];
}

const CPU = ["autoscale", "vmpool", "vm-pool-cirros", "--min=3", "--max=10", "--cpu-percent=50"];
const SAVE_CONFIG = [
  "autoscale",
  "vmpool",
  "vm-pool-cirros",
  "--min=1",
  "--max=5",
  "--save-config",
  "--name=hpa-saved",
];

const CAPTURES: readonly Capture[] = [
  { version: "1.33", args: CPU, names: ["hpa-v2-cpu.kubectl-1.33.bin", "hpa-v1-cpu.kubectl-1.33.bin"] },
  { version: "1.32", args: CPU, names: ["hpa-v1-cpu.kubectl-1.32.bin"] },
  { version: "1.31", args: CPU, names: ["hpa-v1-cpu.kubectl-1.31.json"] },
  {
    version: "1.33",
    args: SAVE_CONFIG,
    names: ["hpa-v2-save-config.kubectl-1.33.bin", "hpa-v1-save-config.kubectl-1.33.bin"],
  },
  { version: "1.33", args: ["create", "namespace", "demo"], names: ["namespace.kubectl-1.33.bin"] },
  { version: "1.32", args: ["create", "namespace", "demo"], names: ["namespace.kubectl-1.32.bin"] },
  { version: "1.31", args: ["create", "namespace", "demo"], names: ["namespace.kubectl-1.31.json"] },
  {
    version: "1.33",
    args: ["create", "namespace", "demo", "--save-config"],
    names: ["namespace-save-config.kubectl-1.33.bin"],
  },
  {
    version: "1.33",
    args: ["create", "configmap", "cm", "--from-literal=a=b"],
    names: ["configmap.kubectl-1.33.bin"],
  },
];

function save(name: string, write: CapturedRequest): void {
  writeFileSync(join(OUT, name), write.body);
  process.stdout.write(
    `${name}: ${write.method} ${write.url} (${write.contentType}, ${write.body.length} bytes)\n`,
  );
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  for (const capture of CAPTURES) {
    const binary = kubectlBinary(capture.version);
    if (!binary) throw new Error(`kubectl.${capture.version} is not installed next to kubectl on PATH`);
    // Rejecting autoscaling/v2 makes kubectl 1.33 fall back to v1, so one run yields both bodies.
    const { result, writes } = await captureKubectlWrites(binary, capture.args, {
      rejectWrites: /\/autoscaling\/v2\//,
    });
    if (writes.length !== capture.names.length) {
      throw new Error(
        `kubectl.${capture.version} ${capture.args.join(" ")}: ${writes.length} writes\n${result.stderr}`,
      );
    }
    capture.names.forEach((name, i) => {
      const write = writes[i];
      if (write) save(name, write);
    });
  }
}

await main();
