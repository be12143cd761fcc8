/** The differential corpus: every case, in run order (cases sharing a config run together). */
import type { Case } from "../types.js";
import { framingCases } from "./framing.js";
import { headerCases } from "./headers.js";
import { localReplyCases } from "./local_replies.js";
import { protocolCases } from "./protocols.js";
import { routingCases } from "./routing.js";

export const allCases: readonly Case[] = [
  ...headerCases,
  ...framingCases,
  ...localReplyCases,
  ...routingCases,
  ...protocolCases,
];
