// What every task method takes besides its own options: cancellation and a deadline (never sent
// as options: the engine bridge turns them into native cancels and deadlines), and truncation
// (sent as the request's flags, src/native/types.ts NativeFlags).
import { NativeFlags } from '../native/types.js';
import { boolean, choice, resolve, type OptionsOf } from './option.js';

export interface RequestOptions {
  /** Aborting cancels the request: it is dropped before it reaches the model if not yet batched. */
  signal?: AbortSignal;
  /**
   * Relative deadline in ms: the promise rejects with ERR_DEADLINE_EXCEEDED when it passes, whatever
   * the request is doing. Not yet batched, it is dropped; already in a running batch (a slow or hung
   * model), it is answered at once and the batch's late result is discarded.
   */
  timeoutMs?: number;
}

export const TRUNCATION = {
  truncate: boolean('truncate', {
    doc: "Truncate a text longer than the token limit instead of refusing it with 413 (default: the engine's truncate, --truncate).",
    native: false,
  }),
  truncationDirection: choice('truncation_direction', ['right', 'left'], {
    doc: 'Which end truncation cuts: "Right" (default) or "Left", any case.',
    default: 'right',
    anyCase: true,
    expected: '"Right" or "Left"',
    native: false,
  }),
};
export type TruncationOptions = OptionsOf<typeof TRUNCATION>;
export const TRUNCATION_KEYS = ['truncate', 'truncationDirection'] as const;

/** The native flags for truncation, the engine's `truncate` being the default. */
export function truncationFlags(o: TruncationOptions, engineDefault: boolean): number {
  const r = resolve(TRUNCATION, { truncate: o.truncate, truncationDirection: o.truncationDirection });
  if (!(r.truncate ?? engineDefault)) return NativeFlags.TruncateNone;
  return r.truncationDirection === 'left' ? NativeFlags.TruncateLeft : NativeFlags.TruncateRight;
}
