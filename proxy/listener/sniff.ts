/** The h2c preface sniff lives in lib/ (shared with the echo service); re-exported for old imports. */
export { decide, H2_PREFACE, type SniffedProtocol, sniff } from "../../lib/h2c_sniff.js";
