/**
 * The fake Slack's realism (fake-slack.ts), off by default so tests stay fast: a latency added
 * to every Web API answer, and Slack's rate limits as token buckets — chat.postMessage per
 * channel, chat.update per app (Tier 3), every other method its own Tier 3 bucket.
 */
import type { FakeRealism } from '../fake-slack.ts';
import { strOf } from './blocks.ts';

/** A token bucket: `burst` calls at once, refilled at `perSecond`. */
export interface RateBucket {
  burst: number;
  perSecond: number;
}

/** Slack's published limits, as the fake applies them (https://docs.slack.dev/apis/web-api/rate-limits). */
export interface SlackRateLimits {
  /** Per channel. */
  postMessage: RateBucket;
  /** Per app (Tier 3). */
  update: RateBucket;
  /** Every other method, each its own bucket (Tier 3). */
  other: RateBucket;
}

export const SLACK_RATE_LIMITS: SlackRateLimits = {
  postMessage: { burst: 3, perSecond: 1 },
  update: { burst: 50, perSecond: 50 / 60 },
  other: { burst: 50, perSecond: 50 / 60 },
};

export class Realism {
  latencyMs: number;
  private limits: SlackRateLimits | undefined;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: FakeRealism) {
    this.latencyMs = options.latencyMs ?? 0;
    this.setLimits(options.rateLimits);
  }

  /** Turns latency and rate limits on or off from now on. */
  configure(realism: FakeRealism): void {
    if (realism.latencyMs !== undefined) this.latencyMs = realism.latencyMs;
    if (realism.rateLimits !== undefined) this.setLimits(realism.rateLimits);
  }

  private setLimits(r: boolean | SlackRateLimits | undefined): void {
    this.limits = r === true ? SLACK_RATE_LIMITS : r === false || r === undefined ? undefined : r;
    this.buckets.clear();
  }

  /** 0 when the call may go ahead (and takes its token), else the seconds to wait. */
  retryAfter(method: string, args: Record<string, unknown>): number {
    const limits = this.limits;
    if (!limits) return 0;
    const [key, rule] =
      method === 'chat.postMessage' ? [`post:${strOf(args.channel) ?? ''}`, limits.postMessage] : method === 'chat.update' ? ['update', limits.update] : [`m:${method}`, limits.other];
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: rule.burst, at: now };
    b.tokens = Math.min(rule.burst, b.tokens + ((now - b.at) / 1000) * rule.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rule.perSecond));
  }
}
