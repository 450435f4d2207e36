// The user directory seam: who exists for the real-time features. Default: TypeORM (rt_users).
import { Inject } from '@nestjs/common';

export interface RealtimeUser {
  id: string;
  username: string;
  email: string | null;
  roles: string[];
  createdAt: Date;
  /** Epoch ms of the user's last disconnect, null if never seen. */
  lastSeenAt: number | null;
}

export interface RegisterUserInput {
  /** The id tokens carry; when absent the directory assigns a numeric one. */
  id?: string;
  username: string;
  email?: string | null;
  roles?: string[];
}

export interface UserDirectory {
  /** Creates the user, or returns the existing one with that id or username (roles/email updated). */
  register(input: RegisterUserInput): Promise<RealtimeUser>;
  findById(id: string): Promise<RealtimeUser | null>;
  findByUsername(username: string): Promise<RealtimeUser | null>;
  markSeen(id: string, at: number): Promise<void>;
  /** Users with a lastSeenAt, most recently seen first. */
  recentlySeen(limit: number): Promise<RealtimeUser[]>;
  count(): Promise<number>;
  /**
   * Deletes the user's record; false when there was none. Optional so that directories written
   * before it keep working (see `RealtimeUserData`, which refuses without it).
   */
  deleteUserData?(id: string): Promise<boolean>;
}

export const USER_DIRECTORY = Symbol('USER_DIRECTORY');
export const InjectUserDirectory = (): ParameterDecorator & PropertyDecorator => Inject(USER_DIRECTORY);
