// Development login: a user is created on first login (admins by name), gets a JWT, and admins are
// told through rt_user_logged_in.
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectUserDirectory, RealtimeApi, type RealtimeIdentity, type UserDirectory } from 'nest-realtime';
import { SAMPLE_CONFIG } from '../sample.constants';
import type { SampleConfig } from '../sample.config';
import type { LoginDto } from './login.dto';

export interface LoginResult {
  token: string;
  expiresIn: number;
  user: { id: string; username: string; email: string | null; isAdmin: boolean; appId: string | null };
}

@Injectable()
export class AuthService {
  constructor(
    private readonly jwt: JwtService,
    private readonly realtime: RealtimeApi,
    @InjectUserDirectory() private readonly users: UserDirectory,
    @Inject(SAMPLE_CONFIG) private readonly config: SampleConfig,
  ) {}

  async login(dto: LoginDto): Promise<LoginResult> {
    const isAdmin = dto.username === 'admin' || this.config.adminUsers.includes(dto.username);
    const user = await this.users.register({
      username: dto.username,
      email: dto.email,
      roles: isAdmin ? ['admin'] : [],
    });
    const claims: Record<string, unknown> = { sub: user.id, username: user.username, roles: user.roles };
    if (dto.appId) claims.appId = dto.appId;
    const token = await this.jwt.signAsync(claims, { expiresIn: this.config.jwtExpiresInSec });
    this.realtime.emitUserLoggedIn({ id: user.id, name: user.username, email: user.email, isAdmin });
    return {
      token,
      expiresIn: this.config.jwtExpiresInSec,
      user: { id: user.id, username: user.username, email: user.email, isAdmin, appId: dto.appId ?? null },
    };
  }

  logout(identity: RealtimeIdentity): void {
    this.realtime.emitUserLoggedOut({ id: identity.userId, name: identity.username });
  }
}
