/**
 * shared/kube's reflector over a scripted port (no API server): the first list fills the cache silently, watch
 * events are reported and move the resourceVersion (bookmarks too), a watch that ends resumes from it, 410 — as an
 * ERROR event or as the watch's answer — relists and reports the differences, other failures back off and recover,
 * unreadable events are skipped, and stop() ends everything. Plus the pure mapping of a watched change to its pool.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { WatchChange } from "../../shared/kube";
import {
  type ListPage,
  type ReflectorPort,
  startReflector,
  type WatchStream,
  watchBackoffMs,
} from "../../shared/kube/watch";
import { watchTarget } from "../../shared/trigger/watch";
import { eventually } from "../support/local-cluster";

const log = pino({ level: "silent" });

const vm = (name: string, rv: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: rv, ...extra },
});

interface OpenStream {
  readonly query: { resourceVersion: string };
  emit(type: string, object: unknown): void;
  end(): void;
  fail(err: unknown): void;
}

/** A port whose list answers `state()` and whose watches the test drives one by one. */
function scriptedPort(state: () => ListPage) {
  const opened: OpenStream[] = [];
  let lists = 0;
  let listFailures = 0;
  const port: ReflectorPort = {
    list: async () => {
      lists++;
      if (listFailures > 0) {
        listFailures--;
        throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
      }
      return state();
    },
    open: (query, onEvent): WatchStream => {
      let settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
      const done = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      opened.push({
        query,
        emit: (type, object) => onEvent(type, object),
        end: () => settle?.resolve(),
        fail: (err) => settle?.reject(err),
      });
      return { done, abort: () => settle?.reject(new Error("aborted")) };
    },
  };
  return {
    port,
    opened,
    lists: () => lists,
    failNextLists: (n: number) => {
      listFailures = n;
    },
    /** The nth watch, once the reflector opened it. */
    watch: (n: number) => eventually(() => opened[n], 5000, `watch ${n}`),
  };
}

const FAST = { backoff: { baseMs: 1, maxMs: 4 }, random: () => 0, timeoutSeconds: 60 };

describe("the reflector", () => {
  it("lists silently, then reports watch events and resumes from the last resourceVersion", async () => {
    const script = scriptedPort(() => ({
      items: [vm("a", "5")],
      continueToken: undefined,
      resourceVersion: "10",
    }));
    const changes: WatchChange[] = [];
    const watch = startReflector(script.port, { ...FAST, onChange: (c) => changes.push(c) }, log, "vms");
    await watch.synced;
    const first = await script.watch(0);
    expect(first.query).toMatchObject({
      resourceVersion: "10",
      allowWatchBookmarks: "true",
      timeoutSeconds: "60",
    });
    first.emit("ADDED", vm("b", "11"));
    first.emit("MODIFIED", vm("a", "12"));
    first.emit("DELETED", vm("b", "13"));
    first.emit("BOOKMARK", { metadata: { name: "", resourceVersion: "20" } });
    expect(changes.map((c) => `${c.type} ${c.object.metadata.name}`)).toEqual([
      "ADDED b",
      "MODIFIED a",
      "DELETED b",
    ]);
    // The server's timeout ends the watch: it resumes from the bookmark's resourceVersion, without a relist.
    first.end();
    expect((await script.watch(1)).query.resourceVersion).toBe("20");
    expect(script.lists()).toBe(1);
    await watch.stop();
  });

  it("relists after a 410 ERROR event and reports what changed in between", async () => {
    let page: ListPage = {
      items: [vm("a", "5"), vm("b", "6")],
      continueToken: undefined,
      resourceVersion: "10",
    };
    const script = scriptedPort(() => page);
    const changes: string[] = [];
    const watch = startReflector(
      script.port,
      { ...FAST, onChange: (c) => changes.push(`${c.type} ${c.object.metadata.name}`) },
      log,
      "vms",
    );
    const first = await script.watch(0);
    // Meanwhile: a changed, b gone, c new.
    page = { items: [vm("a", "30"), vm("c", "31")], continueToken: undefined, resourceVersion: "40" };
    first.emit("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    expect((await script.watch(1)).query.resourceVersion).toBe("40");
    expect(changes.sort()).toEqual(["ADDED c", "DELETED b", "MODIFIED a"]);
    expect(watch.stats()).toMatchObject({ lists: 2, expired: 1 });
    await watch.stop();
  });

  it("relists when the watch itself is answered 410", async () => {
    const script = scriptedPort(() => ({ items: [], continueToken: undefined, resourceVersion: "10" }));
    const watch = startReflector(script.port, { ...FAST, onChange: () => {} }, log, "vms");
    (await script.watch(0)).fail(Object.assign(new Error("Gone"), { statusCode: 410 }));
    await script.watch(1);
    expect(watch.stats()).toMatchObject({ lists: 2, expired: 1 });
    await watch.stop();
  });

  it("backs off on failures and recovers, then skips unreadable events", async () => {
    const script = scriptedPort(() => ({ items: [], continueToken: undefined, resourceVersion: "10" }));
    script.failNextLists(3);
    const changes: WatchChange[] = [];
    const watch = startReflector(script.port, { ...FAST, onChange: (c) => changes.push(c) }, log, "vms");
    await watch.synced;
    expect(watch.stats().failures).toBe(3);
    const first = await script.watch(0);
    first.emit("ADDED", { metadata: { namespace: "default" } }); // no name, no resourceVersion
    first.emit("SOMETHING", vm("x", "11"));
    first.emit("ADDED", vm("y", "12"));
    expect(changes.map((c) => c.object.metadata.name)).toEqual(["y"]);
    expect(watch.stats().unreadable).toBe(2);
    // A transport error on the watch: another watch from the same resourceVersion after a backoff.
    first.fail(new Error("socket hang up"));
    expect((await script.watch(1)).query.resourceVersion).toBe("12");
    expect(watch.stats().failures).toBe(4);
    await watch.stop();
  });

  it("stops: the open watch is aborted and nothing more is sent", async () => {
    const script = scriptedPort(() => ({ items: [], continueToken: undefined, resourceVersion: "10" }));
    const watch = startReflector(script.port, { ...FAST, onChange: () => {} }, log, "vms");
    await script.watch(0);
    await watch.stop();
    expect(script.opened).toHaveLength(1);
    expect(script.lists()).toBe(1);
  });

  it("backoff doubles from base to max, with jitter scaling it into [0.5, 1)", () => {
    const b = { baseMs: 800, maxMs: 30_000 };
    expect([1, 2, 3, 10].map((n) => watchBackoffMs(b, n, 0))).toEqual([400, 800, 1600, 15_000]);
    expect(watchBackoffMs(b, 10, 0.999)).toBeLessThan(30_000);
  });
});

describe("watched changes → the pool to pass", () => {
  const owner = (kind: string, apiVersion: string, name: string) => ({
    ownerReferences: [{ apiVersion, kind, name, uid: "u", controller: true }],
  });
  it.each([
    // a pool itself
    [
      "VirtualMachinePool",
      vm("p", "1"),
      { kind: "pool", ref: { kind: "VirtualMachinePool", namespace: "default", name: "p" } },
    ],
    // a replica set itself
    [
      "VirtualMachineInstanceReplicaSet",
      vm("rs", "1"),
      { kind: "pool", ref: { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "rs" } },
    ],
    // a pool's VM: its controller
    [
      "VirtualMachine",
      vm("p-0", "1", owner("VirtualMachinePool", "pool.kubevirt.io/v1beta1", "p")),
      { kind: "pool", ref: { kind: "VirtualMachinePool", namespace: "default", name: "p" } },
    ],
    // a VM nobody owns
    ["VirtualMachine", vm("lonely", "1"), { kind: "none", reason: "NotOwnedByPool" }],
    // a replica set's VMI
    [
      "VirtualMachineInstance",
      vm("rsabcde", "1", owner("VirtualMachineInstanceReplicaSet", "kubevirt.io/v1", "rs")),
      { kind: "pool", ref: { kind: "VirtualMachineInstanceReplicaSet", namespace: "default", name: "rs" } },
    ],
    // a pool VM's VMI with the revision label
    [
      "VirtualMachineInstance",
      vm("p-0", "1", {
        ...owner("VirtualMachine", "kubevirt.io/v1", "p-0"),
        labels: { "kubevirt.io/vm-pool-revision-name": "p-3" },
      }),
      { kind: "pool", ref: { kind: "VirtualMachinePool", namespace: "default", name: "p" } },
    ],
    // a VM's VMI without it: read the VM
    [
      "VirtualMachineInstance",
      vm("p-0", "1", owner("VirtualMachine", "kubevirt.io/v1", "p-0")),
      { kind: "viaVM", namespace: "default", name: "p-0" },
    ],
  ] as const)("%s %j", (kind, object, target) => {
    expect(watchTarget(kind, { type: "MODIFIED", object: object as never })).toEqual(target);
  });
});
