// Every chat event (handled or refused by validation) is activity for the idle timeout. Interceptors
// run before pipes, so a malformed event still counts; no middleware is kept per socket.
import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { Socket } from 'socket.io';
import { ChatIdleService } from './chat-idle.service';

@Injectable()
export class ChatActivityInterceptor implements NestInterceptor {
  constructor(private readonly idle: ChatIdleService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.idle.touch(context.switchToWs().getClient<Socket>());
    return next.handle();
  }
}
