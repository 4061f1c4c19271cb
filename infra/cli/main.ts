/**
 * The `vmpool` command line: the commands users run by hand (`dev`, and those later issues add). Flags are parsed
 * with node's parseArgs and validated with zod; errors name the flag and exit with status 2.
 */
import { parseArgs } from "node:util";
import { runCluster } from "./cluster";
import { runControlPlane } from "./control-plane";
import { parseDevFlags, startDev } from "./dev";
import { runHistory } from "./history";
import { runInfra } from "./infra";
import { runLoad } from "./load";
import { runReconcile } from "./reconcile";
import { parseServeFlags, startServe } from "./serve";
import { parseSimulateFlags, runSimulate } from "./simulate";

const USAGE = `usage: vmpool <command> [flags]

commands:
  dev        start the local cluster, the function server and the scheduler (what npm start runs)
             --api-port N  --port N  --fresh  --in-memory  --data-dir DIR  --fault kind:rate[:verbs[:resources]]  --seed N
             --real  the same on a real kube-apiserver + kube-controller-manager + etcd (built with Go on first use)
             --insecure  the local cluster on plain HTTP without its token (only the Host check stays)
             --kubevirt-metrics-port N  KubeVirt's metric names from the simulated load, for Prometheus (18090)
  serve      run the function server in a cluster (the Deployment in infra/kubernetes): 0.0.0.0:8080, the
             service account, every secret from the environment; --port N  --hostname H  --cluster KUBECONFIG
             --tls-port N (8443: HTTPS for admission when VMPOOL_TLS_CERT_FILE/VMPOOL_TLS_KEY_FILE are set)
  reconcile  [ns/name | vmirs/ns/name] [--dry-run] [--cluster KUBECONFIG]
             run one reconcile pass (one pool, or every pool) and print the plan like terraform plan
  infra      plan|apply|destroy [--config FILE] [--destroy] [--endpoint-url URL]
             the EventBridge rules and Lambda invoke permissions (config: VMPOOL_INFRA_CONFIG or VMPOOL_* env)
             template [--config FILE]: the CloudFormation template of the whole deployment, on stdout
  cluster    the local cluster alone (no functions): --api-port N --fresh --in-memory --data-dir DIR --no-simulator --real
             --insecure
  control-plane build
             build the real control plane (kube-apiserver, kube-controller-manager, etcd) with Go into .local/k8s/bin
  history    <ns/name | vmirs/ns/name> [-o table|json] [--cluster KUBECONFIG] [--data-dir DIR]
             who or what changed a pool's replica count (or decided not to), when and why
  load       <ns/name | vmirs/ns/name> <percent>   set the simulated CPU load of a pool's VMIs (local cluster)
  simulate   --kubeconfig FILE [--nodes N] [--seed N]
             the KubeVirt simulator over the API, for a cluster without KubeVirt (kind, CI, --real)
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
      "autoscale-interval-ms": { type: "string" },
      "alert-emitter": { type: "boolean" },
      "kubevirt-metrics-port": { type: "string" },
      real: { type: "boolean" },
      insecure: { type: "boolean" },
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

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string" },
      hostname: { type: "string" },
      cluster: { type: "string" },
      "interval-ms": { type: "string" },
      "tls-port": { type: "string" },
    },
    strict: true,
  });
  const server = await startServe(parseServeFlags(values));
  console.log(
    `vmpool serve: function server on ${server.url}${server.httpsUrl ? ` and ${server.httpsUrl} (admission over TLS)` : ""} (reconcile every ${server.intervalMs / 1000} s)`,
  );
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "dev":
      return dev(rest);
    case "serve":
      return serve(rest);
    case "cluster": {
      const { values } = parseArgs({
        args: rest,
        options: {
          "api-port": { type: "string" },
          fresh: { type: "boolean" },
          "in-memory": { type: "boolean" },
          "data-dir": { type: "string" },
          "no-simulator": { type: "boolean" },
          real: { type: "boolean" },
          insecure: { type: "boolean" },
        },
        strict: true,
      });
      const stop = await runCluster(values, (line) => console.log(line));
      const shutdown = () => {
        void stop().then(() => process.exit(0));
      };
      process.on("SIGINT", shutdown);
      process.on("SIGTERM", shutdown);
      return;
    }
    case "load": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { "data-dir": { type: "string" }, cluster: { type: "string" } },
        allowPositionals: true,
        strict: true,
      });
      process.exitCode = await runLoad(positionals, values, (line) => console.log(line));
      return;
    }
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
    case "history": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          output: { type: "string", short: "o" },
          cluster: { type: "string" },
          "data-dir": { type: "string" },
        },
        allowPositionals: true,
        strict: true,
      });
      process.exitCode = await runHistory(positionals, values, (line) => console.log(line));
      return;
    }
    case "infra": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: {
          config: { type: "string" },
          destroy: { type: "boolean" },
          "endpoint-url": { type: "string" },
        },
        allowPositionals: true,
        strict: true,
      });
      process.exitCode = await runInfra(positionals, values, {
        env: process.env,
        print: (text) => console.log(text),
      });
      return;
    }
    case "simulate": {
      const { values } = parseArgs({
        args: rest,
        options: { kubeconfig: { type: "string" }, nodes: { type: "string" }, seed: { type: "string" } },
        strict: true,
      });
      const simulator = await runSimulate(parseSimulateFlags(values), (line) => console.log(line));
      const stop = () => {
        simulator.stop();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      return;
    }
    case "control-plane": {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true });
      process.exitCode = await runControlPlane(positionals, (line) => console.log(line));
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
