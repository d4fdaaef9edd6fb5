// Coord relies on Symbol.asyncDispose (`await using`); Node 20.4+ defines it, in Jest's vm
// realm too. Fail loudly on an older runtime rather than with an obscure TypeError later.
if (typeof Symbol.asyncDispose !== 'symbol' || typeof Symbol.dispose !== 'symbol') {
  throw new Error('Coord needs Node >= 20.4 (Symbol.asyncDispose is missing)');
}

// COORD_TEST_TRACE=<file>: append each test's name, start and duration to that file as it
// runs — Jest reports a file's results only when the whole file is done, so a long server
// leg that stalls would otherwise say nothing about where.
const trace = process.env.COORD_TEST_TRACE;
if (trace !== undefined && trace !== '') {
  const { appendFileSync } = await import('node:fs');
  const { beforeEach, afterEach, expect } = await import('@jest/globals');
  let startedAt = 0;
  beforeEach(() => {
    startedAt = Date.now();
    appendFileSync(trace, `${new Date().toISOString()} start ${expect.getState().currentTestName}\n`);
  });
  afterEach(() => {
    appendFileSync(trace, `${new Date().toISOString()} end   ${Date.now() - startedAt} ms\n`);
  });
}
