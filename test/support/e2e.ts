/** Helpers shared by the end-to-end tests that drive the bot through Slack against the simulator. */
import type { SimCommandRecord } from '../../src/sim/index.ts';

/** The command's words without the `sudo -n --` prefix. */
export function words(c: SimCommandRecord): string {
  return c.argv.filter((w, i) => !(i < 3 && (w === 'sudo' || w === '-n' || w === '--'))).join(' ');
}
