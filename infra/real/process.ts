/**
 * Child processes that never outlive their parent. Each binary runs under a few lines of bash that hold the
 * read end of a pipe from us: when we stop it, or when we die in any way (Ctrl-C, an exception, `kill -9`), the
 * pipe closes, the read returns, and the watchdog sends SIGTERM to the binary, then SIGKILL after a grace
 * period. Node cannot set PR_SET_PDEATHSIG, and kube-apiserver does not watch its stdin, hence the wrapper.
 * Each child gets its own process group, so a terminal's Ctrl-C reaches only us and we stop them in order.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";

/*
 * $1: grace seconds; the rest: the command. fd 3 is our pipe (a background job's stdin is /dev/null, so the
 * watcher reads fd 3 explicitly).
 */
const WATCHDOG = `
exec 3<&0
grace="$1"; shift
"$@" </dev/null &
child=$!
(
  read -r _ <&3
  kill -TERM "$child" 2>/dev/null
  for _ in $(seq "$((grace * 10))"); do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.1; done
  kill -KILL "$child" 2>/dev/null
) &
watcher=$!
wait "$child"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"
`;

export interface Supervised {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Whether it has exited. */
  readonly done: () => boolean;
  /** Asks it to stop (SIGTERM, then SIGKILL after the grace period) and waits until it has. */
  stop(): Promise<void>;
}

/** Starts `binary args…` under the watchdog, appending its output to `logPath`. */
export function supervise(
  name: string,
  binary: string,
  args: readonly string[],
  logPath: string,
  graceSeconds = 10,
): Supervised {
  const log: WriteStream = createWriteStream(logPath, { flags: "a" });
  const child: ChildProcess = spawn(
    "bash",
    ["-c", WATCHDOG, "watchdog", String(graceSeconds), binary, ...args],
    {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    },
  );
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let finished = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      finished = true;
      resolve(code ?? signal ?? "unknown");
    });
    child.once("error", () => {
      finished = true;
      resolve("spawn-error");
    });
  });
  // The parent's side of the pipe must not keep Node's event loop alive, nor be closed by anything but us.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  void exited.then(() => log.end());
  return {
    name,
    pid: child.pid,
    exited,
    done: () => finished,
    stop: async () => {
      if (!finished) child.stdin?.end();
      const timer = setTimeout(
        () => {
          // The watchdog itself is stuck: end the whole group.
          if (!finished && child.pid !== undefined) {
            try {
              process.kill(-child.pid, "SIGKILL");
            } catch {
              // already gone
            }
          }
        },
        (graceSeconds + 5) * 1000,
      );
      await exited;
      clearTimeout(timer);
    },
  };
}
