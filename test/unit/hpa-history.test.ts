import { describe, expect, it } from "vitest";
import type { History } from "../../shared/planning/hpa";
import { decodeHistory, EMPTY_HISTORY, encodeHistory, HISTORY_ANNOTATION } from "../../shared/planning/hpa";
import {
  MAX_RECOMMENDATIONS,
  MAX_SCALE_EVENTS,
  recordRecommendation,
  recordScale,
} from "../../shared/planning/hpa/history";
import { ago, NOW, WARM } from "./hpa-fixtures";

const now = NOW.getTime();
const at = (value: number, secondsAgo: number) => ({ value, at: ago(secondsAgo) });

describe("history codec", () => {
  it("uses an annotation key under our own domain", () => {
    expect(HISTORY_ANNOTATION).toBe("vmpool-functions.io/autoscale-history");
  });

  it("round-trips a history", () => {
    const history: History = {
      seeded: true,
      recommendations: [at(4, 30), at(6, 0)],
      scaleUpEvents: [at(2, 0)],
      scaleDownEvents: [at(1, 120)],
      lastScaleTime: now,
    };
    expect(decodeHistory(encodeHistory(history))).toEqual(history);
  });

  it("treats an absent annotation as a target never decided for", () => {
    expect(decodeHistory(undefined)).toEqual(EMPTY_HISTORY);
  });

  it.each([
    // not JSON at all
    ["{not json", "CorruptAutoscaleHistory"],
    // a future format version
    ['{"v":2,"r":[],"u":[],"d":[],"l":null}', "CorruptAutoscaleHistory"],
    // negative replica counts
    ['{"v":1,"r":[[-1,5]],"u":[],"d":[],"l":null}', "CorruptAutoscaleHistory"],
    // a bare number
    ["42", "CorruptAutoscaleHistory"],
    // oversized (someone pasted something huge)
    [`{"v":1,"r":[],"u":[],"d":[],"l":null,"pad":"${"x".repeat(20_000)}"}`, "AutoscaleHistoryTooLarge"],
  ])("discards %s with a reason instead of throwing", (text, reason) => {
    const decoded = decodeHistory(text);
    expect(decoded.problem?.reason).toBe(reason);
    expect(decoded.seeded).toBe(false);
    expect(decoded.recommendations).toEqual([]);
  });

  it("stays within a few KB at the caps", () => {
    const full: History = {
      seeded: true,
      recommendations: Array.from({ length: MAX_RECOMMENDATIONS + 10 }, (_, i) => at(i + 1000, i)),
      scaleUpEvents: Array.from({ length: MAX_SCALE_EVENTS + 10 }, (_, i) => at(1000, i)),
      scaleDownEvents: Array.from({ length: MAX_SCALE_EVENTS + 10 }, (_, i) => at(1000, i)),
      lastScaleTime: now,
    };
    const text = encodeHistory(full);
    expect(text.length).toBeLessThan(4096);
    const decoded = decodeHistory(text);
    expect(decoded.recommendations).toHaveLength(MAX_RECOMMENDATIONS);
    expect(decoded.scaleUpEvents).toHaveLength(MAX_SCALE_EVENTS);
  });
});

describe("recordRecommendation", () => {
  it("drops entries outside the longest window and entries a later one makes redundant", () => {
    const history: History = {
      ...WARM,
      recommendations: [at(9, 400), at(5, 100), at(7, 90), at(3, 80), at(7, 70), at(4, 60)],
    };
    const next = recordRecommendation(history, 5, now, 300);
    // 9 is outside 300 s; 5@100 and 7@90 are covered by the later 7@70 (max) and 3@80 / 4@60 (min).
    expect(next.recommendations).toEqual([at(3, 80), at(7, 70), at(4, 60), at(5, 0)]);
  });
});

describe("recordScale", () => {
  const periods = { up: 60, down: 60 };

  it("appends while every event is inside the longest period", () => {
    const next = recordScale({ ...WARM, scaleUpEvents: [at(2, 30)] }, 4, 7, now, periods);
    expect(next.scaleUpEvents).toEqual([at(2, 30), at(3, 0)]);
    expect(next.lastScaleTime).toBe(now);
  });

  it("overwrites the outdated event with the highest index in place", () => {
    const history = { ...WARM, scaleDownEvents: [at(1, 200), at(2, 100), at(3, 10)] };
    const next = recordScale(history, 10, 6, now, periods);
    expect(next.scaleDownEvents).toEqual([at(1, 200), at(4, 0), at(3, 10)]);
  });

  it("keeps no events without a behavior but still notes the scale time", () => {
    const next = recordScale(WARM, 3, 6, now, null);
    expect(next.scaleUpEvents).toEqual([]);
    expect(next.lastScaleTime).toBe(now);
  });

  it("merges the two oldest events past the cap, keeping the later time", () => {
    const events = Array.from({ length: MAX_SCALE_EVENTS }, (_, i) => at(1, 50 - i));
    const next = recordScale({ ...WARM, scaleUpEvents: events }, 5, 6, now, { up: 3600, down: 60 });
    expect(next.scaleUpEvents).toHaveLength(MAX_SCALE_EVENTS);
    expect(next.scaleUpEvents[0]).toEqual(at(2, 49));
    expect(next.scaleUpEvents.reduce((sum, event) => sum + event.value, 0)).toBe(MAX_SCALE_EVENTS + 1);
  });
});
