// The rules of registering a user, shared by every UserDirectory implementation.
import { RealtimeError } from '../core/errors/realtime-error';
import type { RegisterUserInput } from './user-directory.interface';

const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** INVALID_FORMAT for a username or an id a directory must not store. */
export function checkRegistration(input: RegisterUserInput): void {
  if (!USERNAME.test(input.username)) {
    throw RealtimeError.invalidFormat('Invalid username (1-64 of letters, digits, _ . @ -)', {
      field: 'username',
    });
  }
  if (input.id !== undefined && (input.id.length === 0 || input.id.length > 64)) {
    throw RealtimeError.invalidFormat('Invalid user id (1-64 characters)', { field: 'id' });
  }
}
