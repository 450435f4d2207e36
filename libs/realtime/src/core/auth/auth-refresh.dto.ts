// Payload of a token refresh on an open connection: rooms `auth_refresh` and Socket.IO `authRefresh`.
// An empty token is the verifier's to refuse (AUTH_FAILED, the session kept), not the pipe's.
import { IsString } from 'class-validator';
import type { AuthRefreshData, AuthRefreshInput } from '../../protocol';

export class AuthRefreshDto implements AuthRefreshData, AuthRefreshInput {
  @IsString()
  token: string;
}
