import { describe, expect, it } from '@jest/globals';
import { KeyLayout } from '../src/keys.js';

const inRange = (key: Buffer, range: { start: Buffer; end: Buffer }): boolean =>
  Buffer.compare(key, range.start) >= 0 && Buffer.compare(key, range.end) < 0;

describe('KeyLayout', () => {
  const codec = new KeyLayout('/app');

  it('encodes a node under its parent with a NUL separator, sequential nodes with a trailing NUL', () => {
    expect(codec.plainKey('/a/b/c').toString()).toBe('/app/a/b\u0000c');
    expect(codec.sequentialKey('/a/b/c').toString()).toBe('/app/a/b\u0000c\u0000');
    expect(codec.plainKey('/top').toString()).toBe('/app\u0000top');
  });

  it('decodes what it encodes, and nothing else', () => {
    expect(codec.decode(codec.plainKey('/a/b/c'))).toEqual({ path: '/a/b/c', sequential: false });
    expect(codec.decode(codec.sequentialKey('/a/n-1'))).toEqual({ path: '/a/n-1', sequential: true });
    expect(codec.decode(codec.plainKey('/top'))).toEqual({ path: '/top', sequential: false });
    expect(codec.decode(Buffer.from('/other\u0000x'))).toBeUndefined();
    expect(codec.decode(codec.sessionKey('42').start)).toBeUndefined();
  });

  it('makes the direct children of a directory one range that holds no grandchild and no sibling', () => {
    const children = codec.childrenRange('/a/b');
    expect(inRange(codec.plainKey('/a/b/c'), children)).toBe(true);
    expect(inRange(codec.sequentialKey('/a/b/n-1'), children)).toBe(true);
    expect(inRange(codec.plainKey('/a/b/c/d'), children)).toBe(false);
    expect(inRange(codec.plainKey('/a/b'), children)).toBe(false);
    expect(inRange(codec.plainKey('/a/b-x/c'), children)).toBe(false);
    expect(inRange(codec.plainKey('/a/bc'), children)).toBe(false);
  });

  it('covers the rest of a subtree with the deeper range', () => {
    const deeper = codec.deeperRange('/a/b');
    expect(inRange(codec.plainKey('/a/b/c/d'), deeper)).toBe(true);
    expect(inRange(codec.sequentialKey('/a/b/c/d/e'), deeper)).toBe(true);
    expect(inRange(codec.plainKey('/a/b/c'), deeper)).toBe(false);
    expect(inRange(codec.plainKey('/a/b-x/c'), deeper)).toBe(false);
  });

  it("gives a path's own range exactly its plain and sequential keys", () => {
    const own = codec.nodeRange('/a/b');
    expect(inRange(codec.plainKey('/a/b'), own)).toBe(true);
    expect(inRange(codec.sequentialKey('/a/b'), own)).toBe(true);
    expect(inRange(codec.plainKey('/a/bc'), own)).toBe(false);
    expect(inRange(codec.plainKey('/a/b/c'), own)).toBe(false);
    expect(inRange(codec.plainKey('/a/b-'), own)).toBe(false);
  });

  it('keeps the session key out of every node range, and namespaces apart', () => {
    const session = codec.sessionKey('7').start;
    expect(inRange(session, codec.childrenRange('/'))).toBe(false);
    expect(inRange(session, codec.deeperRange('/'))).toBe(false);
    const other = new KeyLayout('/app2');
    expect(inRange(other.plainKey('/x'), codec.childrenRange('/'))).toBe(false);
    expect(inRange(other.plainKey('/x/y'), codec.deeperRange('/'))).toBe(false);
  });

  it('works without a namespace', () => {
    const bare = new KeyLayout('');
    expect(bare.plainKey('/x').toString()).toBe('\u0000x');
    expect(bare.decode(bare.plainKey('/x/y'))).toEqual({ path: '/x/y', sequential: false });
    expect(inRange(bare.plainKey('/x'), bare.childrenRange('/'))).toBe(true);
  });
});
