/** vitest globalSetup of the projects that run `dist/`: build first, so no test runs stale code. */
import { buildOnce } from "./build.js";

export default async function setup(): Promise<void> {
  await buildOnce();
}
