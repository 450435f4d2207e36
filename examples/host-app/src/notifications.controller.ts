// A host route that pushes a real-time event to the Socket.IO clients of one page.
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { EventsManager } from 'nest-realtime';

interface NotificationBody {
  title: string;
}

@Controller('notifications')
export class NotificationsController {
  constructor(private readonly events: EventsManager) {}

  /** POST /notifications/:page { title } → event `notification` to the clients connected with that page. */
  @Post(':page')
  @HttpCode(202)
  notify(@Param('page') page: string, @Body() body: NotificationBody): { sent: true } {
    this.events.emitToPage(page, 'notification', { title: body.title, at: new Date().toISOString() });
    return { sent: true };
  }
}
