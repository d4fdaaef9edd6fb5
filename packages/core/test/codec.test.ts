import { describe, it, expect } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { EMPTY, isBytes, jsonCodec, rawCodec } from '../src/codec.js';
import { CoordError } from '../src/errors.js';
import { thrown } from './helpers.js';


const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('jsonCodec', () => {
  it.each([
    ['a string', 'héllo wörld ✓'],
    ['an empty string', ''],
    ['a number', 42],
    ['a negative float', -1.25],
    ['zero', 0],
    ['true', true],
    ['false', false],
    ['null', null],
    ['an object', { a: 1, b: 'two', c: [1, 2, { d: null }], e: { f: {} } }],
    ['an array', [1, 'x', null, [true], {}]],
    ['an empty object', {}],
    ['an empty array', []],
  ])('round-trips %s', (_what, value) => {
    const bytes = jsonCodec.encode(value);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(jsonCodec.decode(bytes)).toEqual(value);
  });

  it('encodes as UTF-8 JSON text', () => {
    expect(Array.from(jsonCodec.encode('é'))).toEqual(Array.from(utf8('"é"')));
    expect(new TextDecoder().decode(jsonCodec.encode({ a: [1, 'b'] }))).toBe('{"a":[1,"b"]}');
    expect(jsonCodec.encode(null).length).toBe(4);
  });

  it('encodes undefined as empty bytes and decodes empty bytes as undefined', () => {
    const bytes = jsonCodec.encode(undefined);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(0);
    expect(jsonCodec.decode(bytes)).toBeUndefined();
    expect(jsonCodec.decode(EMPTY)).toBeUndefined();
    expect(jsonCodec.decode(new Uint8Array(0))).toBeUndefined();
  });

  it('follows JSON for values JSON changes (undefined members dropped, Date as string, NaN as null)', () => {
    expect(jsonCodec.decode(jsonCodec.encode({ a: undefined, b: 1 }))).toEqual({ b: 1 });
    expect(jsonCodec.decode(jsonCodec.encode(new Date(0)))).toBe('1970-01-01T00:00:00.000Z');
    expect(jsonCodec.decode(jsonCodec.encode(NaN))).toBeNull();
    expect(jsonCodec.decode(jsonCodec.encode({ toJSON: () => 'custom' }))).toBe('custom');
  });

  it('decodes a Buffer as well as a Uint8Array', () => {
    expect(jsonCodec.decode(Buffer.from('{"x":1}'))).toEqual({ x: 1 });
  });

  it('rejects a BigInt with INVALID_ARGUMENT (cause: the TypeError)', () => {
    const e = thrown(() => jsonCodec.encode(10n));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('json codec: value cannot be encoded');
    expect((e.cause as Error).name).toBe('TypeError');
    expect(thrown(() => jsonCodec.encode({ nested: [1n] })).code).toBe('INVALID_ARGUMENT');
  });

  it('rejects a cyclic value with INVALID_ARGUMENT', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const e = thrown(() => jsonCodec.encode(cyclic));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.cause).toBeDefined();
  });

  it('rejects values JSON cannot represent at top level (function, symbol) with INVALID_ARGUMENT', () => {
    for (const value of [() => 1, Symbol('s')]) {
      const e = thrown(() => jsonCodec.encode(value));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe('json codec: value cannot be encoded');
    }
  });

  it('rejects bytes that are not JSON with INVALID_ARGUMENT', () => {
    for (const text of ['not json', '{', '{"a":}', "'x'", 'undefined', '1 2']) {
      const e = thrown(() => jsonCodec.decode(utf8(text)));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe('json codec: stored value is not JSON');
      expect(e.cause).toBeDefined();
    }
  });

  it('rejects invalid UTF-8 with INVALID_ARGUMENT', () => {
    for (const bytes of [[0xff], [0x22, 0xc3, 0x22], [0xed, 0xa0, 0x80]]) {
      const e = thrown(() => jsonCodec.decode(new Uint8Array(bytes)));
      expect(e.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(jsonCodec)).toBe(true);
  });
});

describe('rawCodec', () => {
  it('passes bytes through unchanged (same object)', () => {
    const bytes = new Uint8Array([0, 1, 255]);
    expect(rawCodec.encode(bytes)).toBe(bytes);
    expect(rawCodec.decode(bytes)).toBe(bytes);
    expect(rawCodec.decode(rawCodec.encode(EMPTY))).toBe(EMPTY);
    expect(Object.isFrozen(rawCodec)).toBe(true);
  });
});

describe('EMPTY', () => {
  it('is an empty Uint8Array', () => {
    expect(EMPTY).toBeInstanceOf(Uint8Array);
    expect(EMPTY.length).toBe(0);
  });
});

describe('isBytes', () => {
  it('accepts Uint8Array, Buffer and subarrays', () => {
    expect(isBytes(new Uint8Array(3))).toBe(true);
    expect(isBytes(new Uint8Array(0))).toBe(true);
    expect(isBytes(Buffer.from('abc'))).toBe(true);
    expect(isBytes(new Uint8Array(8).subarray(2, 4))).toBe(true);
  });

  it('accepts a Uint8Array made in another realm', () => {
    const foreign: unknown = runInNewContext('new Uint8Array([1, 2])');
    expect(foreign instanceof Uint8Array).toBe(false);
    expect(isBytes(foreign)).toBe(true);
  });

  it('rejects DataView, other typed arrays, ArrayBuffer, plain arrays and non-objects', () => {
    const buffer = new ArrayBuffer(4);
    const others: unknown[] = [
      new DataView(buffer),
      buffer,
      new Uint8ClampedArray(2),
      new Int8Array(2),
      new Uint16Array(2),
      new Float64Array(2),
      [1, 2, 3],
      { length: 0 },
      'bytes',
      undefined,
      null,
      42,
      runInNewContext('new DataView(new ArrayBuffer(2))'),
    ];
    for (const value of others) expect(isBytes(value)).toBe(false);
  });
});
