/**
 * Host syntax: DNS host names, dotted-quad IPv4 and (bracket-free) IPv6 addresses. Pure
 * predicates; the caller turns a "no" into a message.
 */

/** Why `host` is not a valid host name or IPv4 address, or undefined if it is. */
export function checkHostName(host: string): string | undefined {
  if (!/^[A-Za-z0-9.-]+$/.test(host)) return 'a host name takes only A-Z a-z 0-9 . - (IPv6 goes in brackets)';
  if (/^[\d.]+$/.test(host)) return isIPv4(host) ? undefined : 'not a valid IPv4 address';
  if (host.length > 253) return 'longer than 253 characters';
  for (const label of host.split('.')) {
    if (label === '') return "has an empty label ('..' or a leading/trailing '.')";
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (label.startsWith('-') || label.endsWith('-')) return "has a label starting or ending with '-'";
  }
  return undefined;
}

/** Whether `text` is a dotted-quad IPv4 address (no leading zeros, each part 0-255). */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return (
    parts.length === 4 &&
    parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
  );
}

/** Whether `text` is an IPv6 address, optionally with `::` and an embedded IPv4 tail. */
export function isIPv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let hex = text;
  if (text.includes('.')) {
    // Swap the IPv4 tail for two hex groups, so one grammar checks the rest.
    const cut = text.lastIndexOf(':');
    if (cut < 0 || !isIPv4(text.slice(cut + 1))) return false;
    hex = `${text.slice(0, cut + 1)}0:0`;
  }
  const group = /^[0-9A-Fa-f]{1,4}$/;
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = hex.split(':');
    return groups.length === 8 && groups.every((g) => group.test(g));
  }
  const [left = '', right = ''] = halves;
  const l = left === '' ? [] : left.split(':');
  const r = right === '' ? [] : right.split(':');
  return l.length + r.length <= 7 && [...l, ...r].every((g) => group.test(g));
}
