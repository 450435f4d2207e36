// GET /health: 200 when the app and both databases (the library's and the sample's) answer.
import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { REALTIME_CONNECTION } from 'nest-realtime';
import { DataSource } from 'typeorm';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    @InjectDataSource(REALTIME_CONNECTION) private readonly realtimeDb: DataSource,
    @InjectDataSource() private readonly sampleDb: DataSource,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('realtime-db', { connection: this.realtimeDb }),
      () => this.db.pingCheck('sample-db', { connection: this.sampleDb }),
    ]);
  }
}
