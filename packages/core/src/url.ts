/**
 * Connection URLs: parsing, validation and redaction. The parser lives in `./url/` (see
 * `./url/index.ts` for the grammar); this file keeps `./url.js` imports working.
 */
export { DEFAULT_SETTINGS, parseUrl, redactUrl } from './url/index.js';
