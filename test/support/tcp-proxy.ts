/**
 * A TCP proxy in front of an API server that a test can cut: every open connection is destroyed and new ones are
 * refused until restored (plain HTTP and TLS alike, since it never looks inside). Plus a copy of a kubeconfig that
 * points at it, so a client's watches and requests go through it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Destroys every open connection and refuses new ones until `restore()`. */
  cut(): void;
  restore(): void;
  /** Connections opened through it so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  let opened = 0;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    opened++;
    const upstream = connect(targetPort, "127.0.0.1");
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("error", end);
      socket.on("close", end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cut = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      refusing = true;
      cut();
    },
    restore: () => {
      refusing = false;
    },
    connections: () => opened,
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The server port a kubeconfig names (`server: http(s)://127.0.0.1:<port>`). */
export function kubeconfigPort(path: string): number {
  const match = /server:\s*https?:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(path, "utf8"));
  if (!match?.[1]) throw new Error(`${path} names no 127.0.0.1 server`);
  return Number(match[1]);
}

/** Writes a copy of the kubeconfig at `from` whose server is `127.0.0.1:<port>` instead, and returns its path. */
export function kubeconfigVia(from: string, to: string, port: number): string {
  const text = readFileSync(from, "utf8").replace(/(server:\s*https?:\/\/127\.0\.0\.1:)\d+/g, `$1${port}`);
  writeFileSync(to, text, { mode: 0o600 });
  return to;
}
