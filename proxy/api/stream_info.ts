/**
 * What the access log and the stats learn about a finished stream (Envoy's StreamInfo): the response
 * flags. Set by the connection manager (downstream failures) and the router (upstream failures).
 */

/** The flags this proxy can set (Envoy's short names). */
export type ResponseFlag =
  | "NR" // no route
  | "NC" // cluster not found
  | "UH" // no healthy upstream
  | "UF" // upstream connection failure
  | "UC" // upstream connection termination
  | "UR" // upstream remote reset
  | "LR" // local reset
  | "UO" // upstream overflow
  | "UPE" // upstream protocol error
  | "UT" // upstream request timeout
  | "URX" // retry limit reached
  | "DC" // downstream connection termination
  | "SI" // stream idle timeout
  | "DPE"; // downstream protocol error
