// Coord relies on Symbol.asyncDispose (`await using`); Node 20.4+ defines it, in Jest's vm
// realm too. Fail loudly on an older runtime rather than with an obscure TypeError later.
if (typeof Symbol.asyncDispose !== 'symbol' || typeof Symbol.dispose !== 'symbol') {
  throw new Error('Coord needs Node >= 20.4 (Symbol.asyncDispose is missing)');
}
