/** The attack client process (pinned to the load core): runs AttackJobs sent by attack.ts (protocol: ../load/protocol.ts). */
import { serve } from "../load/protocol.js";
import { type AttackJob, runAttack } from "./clients.js";

serve((job) => runAttack(job as AttackJob));
