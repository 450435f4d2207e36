// Registers the sample's RoomPolicy where RealtimeModule can inject it: a provider of the host is
// visible to the library's module only through a global module (the library does not import host modules).
import { Global, Module } from '@nestjs/common';
import { ROOM_POLICY } from 'nest-realtime';
import { AdminRoomsPolicy } from './admin-rooms.policy';

@Global()
@Module({
  providers: [{ provide: ROOM_POLICY, useClass: AdminRoomsPolicy }],
  exports: [ROOM_POLICY],
})
export class RoomPolicyModule {}
