/** The load-generator process: runs HTTP (autocannon) and WebSocket jobs sent by the bench. */
import { type HttpLoad, runHttp } from "./autocannon.js";
import { serve } from "./protocol.js";
import { runWs, type WsLoad } from "./ws.js";

export type LoadJob = { kind: "http"; load: HttpLoad } | { kind: "ws"; load: WsLoad };

serve((job) => {
  const j = job as LoadJob;
  return j.kind === "http" ? runHttp(j.load) : runWs(j.load);
});
