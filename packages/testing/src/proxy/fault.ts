/**
 * The faults a {@link FaultProxy} can inject, and what each means for one direction of a
 * proxied connection. Kept apart from the socket code so the table below is the whole truth.
 */

/**
 * The fault currently in force on a proxy; each fault call replaces the previous one.
 *
 * | kind | client → server | server → client |
 * |---|---|---|
 * | `none` | forwarded | forwarded |
 * | `delay` | forwarded after `ms` | forwarded after `ms` |
 * | `blackhole` | discarded | discarded |
 * | `partition` | held (not read) | held (not read) |
 * | `dropReplies` | forwarded | discarded |
 */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'partition' }
  | { readonly kind: 'dropReplies' };

/** One direction of a proxied connection: `up` is client → server, `down` is server → client. */
export type Direction = 'up' | 'down';

/**
 * What happens to a byte when it would leave the proxy in one direction:
 * - `forward`: written to the other side;
 * - `drop`: discarded — the stream now has a hole, so the connection can never carry this
 *   direction again (see `Link`: it is reset when forwarding resumes);
 * - `stall`: left where it is (our queue, then the kernel's buffers), delivered in order later.
 */
export type Policy = 'forward' | 'drop' | 'stall';

/** The policy `fault` imposes on `direction`. */
export function policyOf(fault: Fault, direction: Direction): Policy {
  switch (fault.kind) {
    case 'none':
    case 'delay':
      return 'forward';
    case 'blackhole':
      return 'drop';
    case 'partition':
      return 'stall';
    case 'dropReplies':
      return direction === 'up' ? 'forward' : 'drop';
  }
}

/** The latency `fault` adds to every chunk, in ms. */
export function latencyOf(fault: Fault): number {
  return fault.kind === 'delay' ? fault.ms : 0;
}
