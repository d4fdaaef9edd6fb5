/**
 * Just enough of RESP (the Redis protocol) to send a command and read its reply, for probes
 * and fault injection without a client library.
 */
import { openSocket, SocketReader, type Endpoint, type Parser } from './net.js';

/** A decoded reply. Errors are thrown, not returned. */
export type RespValue = string | number | null | RespValue[];

/** An error reply (`-ERR ...`). */
export class RespError extends Error {
  constructor(message: string) {
    super(`redis: ${message}`);
    this.name = 'RespError';
  }
}

/** Encodes a command as an array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) parts.push(`$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''), 'utf8');
}

type Parsed = { value: RespValue | RespError; used: number } | undefined;

/** Parses one reply at `offset`; error replies come back as RespError values. */
function parseAt(buffer: Buffer, offset: number): Parsed {
  const end = buffer.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const line = buffer.toString('utf8', offset + 1, end);
  const next = end + 2;
  switch (String.fromCharCode(buffer[offset] as number)) {
    case '+':
      return { value: line, used: next - offset };
    case '-':
      return { value: new RespError(line), used: next - offset };
    case ':':
      return { value: Number(line), used: next - offset };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, used: next - offset };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), used: next + length + 2 - offset };
    }
    case '*':
      return parseArray(buffer, next, Number(line), offset);
    default:
      throw new Error(`redis: unexpected reply byte in "${line.slice(0, 40)}"`);
  }
}

function parseArray(buffer: Buffer, start: number, count: number, offset: number): Parsed {
  if (count < 0) return { value: null, used: start - offset };
  const items: RespValue[] = [];
  let error: RespError | undefined;
  let at = start;
  for (let i = 0; i < count; i += 1) {
    const item = parseAt(buffer, at);
    if (item === undefined) return undefined;
    if (item.value instanceof RespError) error ??= item.value;
    else items.push(item.value);
    at += item.used;
  }
  return { value: error ?? items, used: at - offset };
}

const reply: Parser<RespValue | RespError> = (buffer) => (buffer.length === 0 ? undefined : parseAt(buffer, 0));

/**
 * Sends commands in order on a fresh connection and returns the last reply.
 * @throws RespError for any error reply; Error on network failure or abort.
 */
export async function redisCommands(
  endpoint: Endpoint,
  commands: readonly (readonly string[])[],
  signal: AbortSignal,
): Promise<RespValue> {
  const socket = await openSocket(endpoint, signal);
  try {
    const reader = new SocketReader(socket);
    socket.write(Buffer.concat(commands.map(encodeCommand)));
    let last: RespValue = null;
    for (let i = 0; i < commands.length; i += 1) {
      const value = await reader.read(reply, signal);
      if (value instanceof RespError) throw value;
      last = value;
    }
    return last;
  } finally {
    socket.destroy();
  }
}

/** Sends one command on a fresh connection and returns its reply. */
export function redisCommand(endpoint: Endpoint, args: readonly string[], signal: AbortSignal): Promise<RespValue> {
  return redisCommands(endpoint, [args], signal);
}
