// POST /auth/login and POST /auth/logout.
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ConnectedUser, RealtimeAuthGuard, type RealtimeIdentity } from 'nest-realtime';
import { AuthService, type LoginResult } from './auth.service';
import { LoginDto } from './login.dto';

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  login(@Body() dto: LoginDto): Promise<LoginResult> {
    return this.auth.login(dto);
  }

  @Post('logout')
  @HttpCode(204)
  @UseGuards(RealtimeAuthGuard)
  logout(@ConnectedUser() user: RealtimeIdentity): void {
    this.auth.logout(user);
  }
}
