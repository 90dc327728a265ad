/** src/bot/core.ts precheckAckBudget: how long an ack waits for its precheck. */
import { describe, expect, it } from 'vitest';
import { PRECHECK_ACK_MS, PRECHECK_COLD_ACK_MS, precheckAckBudget } from '../../src/bot/core.ts';

describe('precheckAckBudget', () => {
  it('waits the warm budget unless the precheck would open connections while other acks wait', () => {
    expect(precheckAckBudget({ cold: false, othersWaiting: false })).toBe(PRECHECK_ACK_MS);
    expect(precheckAckBudget({ cold: false, othersWaiting: true })).toBe(PRECHECK_ACK_MS);
    // A lone command on a cold cluster: the handshakes hold up no one else.
    expect(precheckAckBudget({ cold: true, othersWaiting: false })).toBe(PRECHECK_ACK_MS);
    expect(precheckAckBudget({ cold: true, othersWaiting: true })).toBe(PRECHECK_COLD_ACK_MS);
    expect(PRECHECK_COLD_ACK_MS).toBe(0);
  });

  it("takes the deployment's budgets, the cold one never above the warm one", () => {
    expect(precheckAckBudget({ cold: false, othersWaiting: true, ackMs: 40, coldAckMs: 5 })).toBe(40);
    expect(precheckAckBudget({ cold: true, othersWaiting: true, ackMs: 40, coldAckMs: 5 })).toBe(5);
    expect(precheckAckBudget({ cold: true, othersWaiting: true, ackMs: 40, coldAckMs: 500 })).toBe(40);
  });
});
