import { describe, expect, it } from "vitest";
import { MANAGED_ANNOTATION, standDownReason } from "../../shared/reconcile";

const NOW = new Date("2026-11-21T12:00:00Z");
const minutesAgo = (m: number) =>
  new Date(NOW.getTime() - m * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
const virtController = (time: string) => ({
  manager: "virt-controller",
  operation: "Update",
  subresource: "status",
  time,
  fieldsType: "FieldsV1",
  fieldsV1: {},
});

describe("who manages a pool", () => {
  it.each([
    // no annotation, nobody else writing: ours
    ["all", {}, [], undefined],
    // opted out explicitly
    ["all", { [MANAGED_ANNOTATION]: "false" }, [], "OptedOut"],
    // mode annotated without the opt-in
    ["annotated", {}, [], "NotOptedIn"],
    // mode annotated with the opt-in
    ["annotated", { [MANAGED_ANNOTATION]: "true" }, [], undefined],
    // virt-controller wrote the status two minutes ago: stand down
    ["all", {}, [virtController(minutesAgo(2))], "VirtControllerActive"],
    // virt-controller's last write is an hour old: it is gone, we manage
    ["all", {}, [virtController(minutesAgo(60))], undefined],
    // an explicit opt-in overrides a live virt-controller
    ["all", { [MANAGED_ANNOTATION]: "true" }, [virtController(minutesAgo(1))], undefined],
    // our own writes never count as another controller
    ["all", {}, [{ ...virtController(minutesAgo(1)), manager: "vmpool-functions" }], undefined],
    // a managedFields entry without a parsable time is ignored
    ["all", {}, [{ manager: "virt-controller", time: "yesterday" }], undefined],
  ] as const)(
    "mode %s, annotations %j, managedFields %j → %s",
    (mode, annotations, managedFields, reason) => {
      const verdict = standDownReason({ metadata: { annotations, managedFields } }, mode, NOW);
      expect(verdict?.reason).toBe(reason);
      if (verdict) expect(verdict.message.length).toBeGreaterThan(10);
    },
  );
});
