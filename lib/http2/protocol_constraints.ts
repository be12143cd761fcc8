/**
 * The flood limits of a connection, after Envoy's ProtocolConstraints (source/common/http/http2/
 * protocol_constraints.cc) with its defaults: frames we owe a peer that does not read, empty DATA,
 * PRIORITY and WINDOW_UPDATE frames out of proportion to the work they come with, and rapid reset.
 * Each check returns false once a limit is crossed; `reason` then says which, and the connection
 * closes with ENHANCE_YOUR_CALM.
 */
/** The `reason` of each flood (for an application's stats: Envoy counts each in its own counter). */
export const OUTBOUND_FRAME_FLOOD = "outbound frame flood";
export const CONTROL_FRAME_FLOOD = "control frame flood";
export const EMPTY_FRAME_FLOOD = "empty frame flood";
export const PRIORITY_FLOOD = "PRIORITY flood";
export const WINDOW_UPDATE_FLOOD = "WINDOW_UPDATE flood";

export interface ConstraintOptions {
  maxOutboundFrames: number;
  maxOutboundControlFrames: number;
  maxConsecutiveEmptyFrames: number;
  maxInboundPriorityFramesPerStream: number;
  maxInboundWindowUpdateFramesPerDataFrameSent: number;
  prematureResetMinStreams: number;
}

export class ProtocolConstraints {
  reason = "";
  /** Streams the peer opened (server) or we opened (client). */
  streamsOpened = 0;
  private queuedFrames = 0;
  private queuedControlFrames = 0;
  private emptyFrames = 0;
  private priorityFrames = 0;
  private windowUpdateFrames = 0;
  private dataFramesSent = 0;
  private prematureResets = 0;

  constructor(private readonly o: ConstraintOptions) {}

  /** The socket has nothing queued: whatever we wrote has left. */
  drained(): void {
    this.queuedFrames = 0;
    this.queuedControlFrames = 0;
  }

  /** A frame of ours is queued (max_outbound_frames). */
  frameQueued(): boolean {
    return ++this.queuedFrames <= this.o.maxOutboundFrames || this.flood(OUTBOUND_FRAME_FLOOD);
  }

  /** A frame the peer made us owe it: SETTINGS or PING ack, RST_STREAM (max_outbound_control_frames). */
  controlFrameQueued(): boolean {
    if (++this.queuedControlFrames > this.o.maxOutboundControlFrames) return this.flood(CONTROL_FRAME_FLOOD);
    return this.frameQueued();
  }

  dataFrameSent(): void {
    this.dataFramesSent++;
    this.queuedFrames++;
  }

  /** A DATA frame arrived; `empty`: no payload and no END_STREAM (max_consecutive_inbound_frames_with_empty_payload). */
  dataReceived(empty: boolean): boolean {
    if (!empty) {
      this.emptyFrames = 0;
      return true;
    }
    return ++this.emptyFrames <= this.o.maxConsecutiveEmptyFrames || this.flood(EMPTY_FRAME_FLOOD);
  }

  priorityReceived(): boolean {
    const limit = this.o.maxInboundPriorityFramesPerStream * (1 + this.streamsOpened);
    return ++this.priorityFrames <= limit || this.flood(PRIORITY_FLOOD);
  }

  windowUpdateReceived(): boolean {
    const perData = this.o.maxInboundWindowUpdateFramesPerDataFrameSent;
    const limit = 5 + 2 * (this.streamsOpened + perData * this.dataFramesSent);
    return ++this.windowUpdateFrames <= limit || this.flood(WINDOW_UPDATE_FLOOD);
  }

  /**
   * The peer reset a stream before our response ended. Envoy's premature-reset rule without its 1 s
   * minimum lifetime: at half of max(prematureResetMinStreams, streams opened), the connection goes.
   */
  prematureReset(): boolean {
    const min = this.o.prematureResetMinStreams;
    if (min <= 0) return true;
    return ++this.prematureResets * 2 < Math.max(min, this.streamsOpened) || this.flood("too many resets");
  }

  private flood(reason: string): false {
    this.reason = reason;
    return false;
  }
}
