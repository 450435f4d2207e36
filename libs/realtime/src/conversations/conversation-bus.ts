// The in-process message bus: every stored message is published once; each gateway delivers it to
// its own connections.
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { ConversationEvent } from './conversation.types';

@Injectable()
export class ConversationBus implements OnModuleDestroy {
  private readonly subject = new Subject<ConversationEvent>();
  readonly events$ = this.subject.asObservable();

  publish(event: ConversationEvent): void {
    this.subject.next(event);
  }

  onModuleDestroy(): void {
    this.subject.complete();
  }
}
