/**
 * The one way tests get a runnable build: `lib/build.ts`'s incremental `tsc -b tsconfig.build.json`,
 * run once per vitest run by `global-build.ts`, before any project whose tests start `dist/`
 * (integration, e2e, conformance); `npm run bench`, `npm run conformance` and `npm start` build first too.
 */
export { buildOnce } from "../lib/build.js";
