/**
 * A real Prometheus and Alertmanager for end-to-end tests: Debian's `prometheus` and `prometheus-alertmanager`
 * binaries (`.ci/run` installs them where apt works), each started with our own configuration in a temporary
 * directory, listening on a free 127.0.0.1 port (Alertmanager's cluster listener off), each under the watchdog
 * of infra/real/process.ts, so it is stopped with the test and never outlives it. `prometheusSkipReason()` says
 * in one line why the suite cannot run where a binary is absent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { stringify } from "yaml";
import { supervise } from "../../infra/real/process";
import { eventually } from "./local-cluster";

function onPath(names: readonly string[]): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of names) {
      const candidate = join(dir, name);
      if (dir !== "" && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

export const PROMETHEUS_BINARY = onPath(["prometheus"]);
/** Debian installs Alertmanager as `prometheus-alertmanager`; upstream tarballs call it `alertmanager`. */
export const ALERTMANAGER_BINARY = onPath(["prometheus-alertmanager", "alertmanager"]);

/** Undefined when both binaries are here; otherwise the one line a skipped suite prints. */
export function prometheusSkipReason(): string | undefined {
  const missing = [
    PROMETHEUS_BINARY ? undefined : "prometheus",
    ALERTMANAGER_BINARY ? undefined : "prometheus-alertmanager",
  ].filter(Boolean);
  if (missing.length === 0) return undefined;
  return `${missing.join(" and ")} not on PATH (apt-get install prometheus prometheus-alertmanager; .ci/run does where apt works)`;
}

/** A free TCP port on 127.0.0.1 (closed again at once; the program binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningProgram {
  readonly url: string;
  readonly dir: string;
  /** What the program wrote to stderr and stdout so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

async function startProgram(
  binary: string,
  args: (dir: string, port: number) => string[],
  files: (dir: string) => Record<string, string>,
  label: string,
): Promise<RunningProgram> {
  const dir = mkdtempSync(join(tmpdir(), `vmpool-${label}-`));
  for (const [name, text] of Object.entries(files(dir))) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logPath = join(dir, `${label}.log`);
  // Under the real control plane's watchdog: it ends with us, also when the test worker is killed.
  const child = supervise(label, binary, args(dir, port), logPath, 5);
  const output = () => (existsSync(logPath) ? readFileSync(logPath, "utf8").slice(-20_000) : "");
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(
      async () => {
        if (child.done()) throw new Error(`${label} exited: ${output().slice(-2000)}`);
        const response = await fetch(`${url}/-/ready`);
        await response.text();
        return response.ok ? true : undefined;
      },
      20_000,
      `${label} to be ready at ${url}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, dir, output, stop };
}

export interface PrometheusOptions {
  /** `host:port` targets of the `kubevirt` scrape job (path `/metrics`). */
  readonly targets: readonly string[];
  /** Alerting rule groups (Prometheus rule file format), evaluated every second. */
  readonly rules?: readonly Record<string, unknown>[];
  /** Alertmanager's URL, when alerts should be sent. */
  readonly alertmanager?: string;
}

/** Prometheus with 1 s scrape and evaluation intervals. */
export function startPrometheus(options: PrometheusOptions): Promise<RunningProgram> {
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    scrape_configs: [
      { job_name: "kubevirt", metrics_path: "/metrics", static_configs: [{ targets: [...options.targets] }] },
    ],
    ...(options.rules ? { rule_files: ["rules.yml"] } : {}),
    ...(options.alertmanager
      ? {
          alerting: {
            alertmanagers: [{ static_configs: [{ targets: [new URL(options.alertmanager).host] }] }],
          },
        }
      : {}),
  };
  return startProgram(
    PROMETHEUS_BINARY as string,
    (dir, port) => [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      // Debian's build reads its console templates from /etc; none are needed here.
      `--web.console.templates=${dir}`,
      `--web.console.libraries=${dir}`,
    ],
    () => ({
      "prometheus.yml": stringify(config),
      ...(options.rules ? { "rules.yml": stringify({ groups: options.rules }) } : {}),
    }),
    "prometheus",
  );
}

export interface AlertmanagerOptions {
  /** The webhook receiver's URL (our `/hooks/alertmanager`). */
  readonly webhookUrl: string;
  /** Sent as `Authorization: Bearer …` (Alertmanager's `http_config.authorization`). */
  readonly token: string;
  /** Labels alerts are grouped by (default namespace and pool). */
  readonly groupBy?: readonly string[];
}

/** Alertmanager with one webhook receiver, grouping quickly (group_wait 100 ms, group_interval 1 s). */
export function startAlertmanager(options: AlertmanagerOptions): Promise<RunningProgram> {
  const config = {
    route: {
      receiver: "vmpool",
      group_by: [...(options.groupBy ?? ["namespace", "pool"])],
      group_wait: "100ms",
      group_interval: "1s",
      repeat_interval: "1h",
    },
    receivers: [
      {
        name: "vmpool",
        webhook_configs: [
          {
            url: options.webhookUrl,
            send_resolved: true,
            http_config: { authorization: { type: "Bearer", credentials: options.token } },
          },
        ],
      },
    ],
  };
  return startProgram(
    ALERTMANAGER_BINARY as string,
    (dir, port) => [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No gossip: an empty cluster address turns HA clustering (and its 0.0.0.0:9094 listener) off.
      "--cluster.listen-address=",
    ],
    () => ({ "alertmanager.yml": stringify(config) }),
    "alertmanager",
  );
}
