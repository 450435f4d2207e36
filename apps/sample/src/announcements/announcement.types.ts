// The announcements' wire names and payload, shared by both gateways (and the e2e tests).

/** The raw WebSocket endpoint of the announcements (data-envelope frames `{ type, data }`). */
export const ANNOUNCEMENTS_WS_PATH = '/ws/announcements';

export const AnnouncementEvent = {
  /** Inbound, admins only: `{ text }`. */
  ANNOUNCE: 'announce',
  /** The reply to its sender. */
  ANNOUNCED: 'announced',
  /** To every Socket.IO client and every listener of ANNOUNCEMENTS_WS_PATH. */
  ANNOUNCEMENT: 'announcement',
} as const;

export interface Announcement {
  id: string;
  text: string;
  /** Username of the admin who made it. */
  from: string;
  /** Epoch milliseconds. */
  at: number;
}

/** Injection token of the announcements' rate-limit bucket. */
export const ANNOUNCEMENTS_BUCKET = Symbol('ANNOUNCEMENTS_BUCKET');
