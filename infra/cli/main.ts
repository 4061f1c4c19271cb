/**
 * The `vmpool` command line: the commands users run by hand (`dev`, and those later issues add). Flags are parsed
 * with node's parseArgs and validated with zod; errors name the flag and exit with status 2.
 */
import { parseArgs } from "node:util";
import { parseDevFlags, startDev } from "./dev";
import { runReconcile } from "./reconcile";

const USAGE = `usage: vmpool <command> [flags]

commands:
  dev        start the local cluster, the function server and the scheduler (what npm start runs)
             --api-port N  --port N  --fresh  --in-memory  --data-dir DIR  --fault kind:rate[:verbs[:resources]]  --seed N
  reconcile  [ns/name | vmirs/ns/name] [--dry-run] [--cluster KUBECONFIG]
             run one reconcile pass (one pool, or every pool) and print the plan like terraform plan
  help       show this text`;

async function dev(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      "api-port": { type: "string" },
      port: { type: "string" },
      fresh: { type: "boolean" },
      "in-memory": { type: "boolean" },
      "data-dir": { type: "string" },
      cluster: { type: "string" },
      "in-cluster": { type: "boolean" },
      fault: { type: "string", multiple: true },
      seed: { type: "string" },
      "interval-ms": { type: "string" },
    },
    strict: true,
  });
  const handle = await startDev(parseDevFlags(values), (line) => console.log(line));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    await handle.stop();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "dev":
      return dev(rest);
    case "reconcile": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          "dry-run": { type: "boolean" },
          cluster: { type: "string" },
          "data-dir": { type: "string" },
        },
        allowPositionals: true,
        strict: true,
      });
      process.exitCode = await runReconcile(positionals, values, (line) => console.log(line));
      return;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`vmpool: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
