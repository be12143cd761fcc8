/** The soak's traffic process (pinned to the load core): runs a SoakJob sent by soak.ts (protocol: ../load/protocol.ts). */
import { serve } from "../load/protocol.js";
import { runSoakTraffic, type SoakJob } from "./traffic.js";

serve((job) => runSoakTraffic(job as SoakJob));
