import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AlertRule,
  type AlertState,
  DELIVERY_RETRY_BASE_MS,
  DELIVERY_TRIES_MAX,
  INACTIVE,
  type Measure,
  nextState,
  notification,
  retryDelayMs,
} from "../../core/alerts";
import { signature } from "../../durable-objects/webhook";

const HOUR_MS = 3_600_000;

describe("alert rules (pure)", () => {
  it("over random measures: firing exactly when the condition held forMs without a break; resolved once per firing; unknown changes nothing", () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 5_000 }),
      measure: fc.oneof(
        fc.constant(null),
        fc.record({ holds: fc.boolean(), value: fc.integer({ min: 0, max: 100 }) }),
      ) as fc.Arbitrary<Measure>,
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.array(step, { maxLength: 60 }), (forMs, steps) => {
        let state: AlertState = INACTIVE;
        let now = 1_000_000;
        /** The model: when the condition began holding (null: not holding), and whether it fired. */
        let since: number | null = null;
        let fired = false;
        let firings = 0;
        let resolutions = 0;
        for (const { dt, measure } of steps) {
          now += dt;
          const before = state;
          const { state: after, transition } = nextState(state, measure, forMs, now);
          state = after;
          if (measure === null) {
            expect(after).toBe(before);
            expect(transition).toBeNull();
            continue;
          }
          if (!measure.holds) {
            expect(transition).toBe(fired ? "resolved" : null);
            if (fired) resolutions++;
            since = null;
            fired = false;
          } else {
            since ??= now;
            const fires = !fired && now - since >= forMs;
            expect(transition).toBe(fires ? "firing" : null);
            if (fires) {
              firings++;
              fired = true;
            }
          }
          expect(after.phase).toBe(fired ? "firing" : since === null ? "inactive" : "pending");
          expect(after.value).toBe(measure.value);
          expect(after.activeSinceMs).toBe(since);
        }
        expect(firings - resolutions).toBe(fired ? 1 : 0);
      }),
      { numRuns: 2_000 },
    );
  });

  it("notifications say what fired, since when, and when it resolved", () => {
    const rule: AlertRule = {
      kind: "consumerLag",
      group: "g",
      topic: "t",
      maxLag: 5,
      forMs: 0,
      webhook: { url: "http://h" },
    };
    const pending = nextState(INACTIVE, { holds: true, value: 9 }, 10, 1_000).state;
    const firing = nextState(pending, { holds: true, value: 12 }, 10, 2_000);
    expect(firing.transition).toBe("firing");
    expect(notification("lag", rule, pending, firing.state, "firing", 2_000)).toEqual({
      alert: "lag",
      state: "firing",
      kind: "consumerLag",
      labels: { group: "g", topic: "t" },
      value: 12,
      startsAt: new Date(2_000).toISOString(),
    });
    const resolved = nextState(firing.state, { holds: false, value: 0 }, 10, 5_000);
    expect(notification("lag", rule, firing.state, resolved.state, "resolved", 5_000)).toMatchObject({
      state: "resolved",
      value: 0,
      startsAt: new Date(2_000).toISOString(),
      endsAt: new Date(5_000).toISOString(),
    });
  });

  it("retries a delivery at most 10 times, doubling with jitter, over at least an hour", () => {
    const delays = (random: number) => {
      const out: number[] = [];
      for (let tries = 1; ; tries++) {
        const delay = retryDelayMs(tries, random);
        if (delay === null) return out;
        out.push(delay);
      }
    };
    for (const random of [0, 0.5, 0.999999]) {
      const d = delays(random);
      expect(d.length + 1).toBe(DELIVERY_TRIES_MAX); // the first try, then the retries
      for (let i = 1; i < d.length; i++) expect(d[i]!).toBeGreaterThanOrEqual(d[i - 1]!);
      expect(d.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(HOUR_MS);
    }
    expect(retryDelayMs(1, 0)).toBe(DELIVERY_RETRY_BASE_MS / 2);
    expect(retryDelayMs(1, 0.999999)).toBeLessThanOrEqual(DELIVERY_RETRY_BASE_MS);
    expect(retryDelayMs(DELIVERY_TRIES_MAX, 0.5)).toBeNull();
  });

  it("signs a body as sha256=<hex HMAC-SHA256>, as a receiver recomputes it", async () => {
    const body = JSON.stringify({ alert: "lag", state: "firing" });
    const expected = createHmac("sha256", "s3cret").update(body).digest("hex");
    expect(await signature("s3cret", body)).toBe(`sha256=${expected}`);
    expect(await signature("other", body)).not.toBe(`sha256=${expected}`);
  });
});
